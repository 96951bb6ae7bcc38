-- grain: live purchase order
-- key: purchase_order_id
-- One row per live Pinogy purchase order (MFD-deleted ones dropped); supplier and store as Pinogy names them.
with source as (
    select * from pinogy.purchase_orders
),

renamed as (
    select
        id as purchase_order_id,
        number as purchase_order_number,
        status,
        is_open,
        entity_id as supplier_id,
        entity_name as supplier_name,
        email as supplier_email,
        phone_number as supplier_phone,
        address_line1 as supplier_address_line1,
        address_line2 as supplier_address_line2,
        city as supplier_city,
        region_iso_code as supplier_region,
        zipcode as supplier_zipcode,
        location_id,
        location_receipt_name as location_name,
        opened_on as opened_at,
        closed_on as closed_at,
        cast(subtotal as decimal(18, 4)) as subtotal,
        cast(discount_total as decimal(18, 4)) as discount_total,
        cast(freight_total as decimal(18, 4)) as freight_total,
        cast(tax_total as decimal(18, 4)) as tax_total,
        cast(grand_total as decimal(18, 4)) as grand_total,
        cast(json_extract_string(cast(options as json), '$."Lead Time Days"') as integer) as lead_time_days,
        cast(json_extract_string(cast(options as json), '$."Safety Stock Min Days"') as integer) as safety_stock_min_days,
        cast(json_extract_string(cast(options as json), '$."Safety Stock Max Days"') as integer) as safety_stock_max_days,
        options
    from source
    where not coalesce(deleted, false)
)

select * from renamed
