-- grain: live purchase order
-- key: purchase_order_id
-- One row per live Pinogy purchase order (MFD-deleted ones dropped); supplier and store as Pinogy names them.
with source as (
    select * from pinogy.purchase_orders
),

with_settings as (
    -- the supplier's stock settings, from the PO's `options` (JSON held as text)
    select
        *,
        json_extract_string(cast(options as json), '$."Lead Time Days"') as lead_time_text,
        json_extract_string(cast(options as json), '$."Safety Stock Min Days"') as safety_stock_min_text,
        json_extract_string(cast(options as json), '$."Safety Stock Max Days"') as safety_stock_max_text
    from source
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
        subtotal,
        discount_total,
        freight_total,
        tax_total,
        grand_total,
        -- a setting that is not a whole number is null (a cast would fail the build)
        case when regexp_matches(lead_time_text, '^-?[0-9]+$')
             then cast(lead_time_text as integer) end as lead_time_days,
        case when regexp_matches(safety_stock_min_text, '^-?[0-9]+$')
             then cast(safety_stock_min_text as integer) end as safety_stock_min_days,
        case when regexp_matches(safety_stock_max_text, '^-?[0-9]+$')
             then cast(safety_stock_max_text as integer) end as safety_stock_max_days,
        options
    from with_settings
    where not coalesce(deleted, false)
)

select * from renamed
