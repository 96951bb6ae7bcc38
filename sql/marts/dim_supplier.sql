-- grain: supplier (Pinogy PO entity)
-- key: supplier_key
-- Contact and address from its most recent purchase order.
with purchase_orders as (
    select * from staging.stg_pinogy__purchase_orders
),

latest as (
    select
        supplier_id,
        supplier_name,
        supplier_email,
        supplier_phone,
        supplier_address_line1,
        supplier_address_line2,
        supplier_city,
        supplier_region,
        supplier_zipcode,
        lead_time_days,
        safety_stock_min_days,
        safety_stock_max_days,
        count(*) over (partition by supplier_id) as purchase_orders,
        row_number() over (partition by supplier_id order by opened_at desc, purchase_order_id desc) as recency
    from purchase_orders
),

unknown as (
    select
        'unknown' as supplier_key, null::bigint as supplier_id, 'Unknown supplier' as supplier_name,
        null as email, null as phone, null as address_line1, null as address_line2, null as city,
        null as region, null as zipcode, null::integer as lead_time_days,
        null::integer as safety_stock_min_days, null::integer as safety_stock_max_days, 0::bigint as purchase_orders
),

final as (
    select
        'pinogy:' || supplier_id as supplier_key,
        supplier_id,
        supplier_name,
        supplier_email as email,
        supplier_phone as phone,
        supplier_address_line1 as address_line1,
        supplier_address_line2 as address_line2,
        supplier_city as city,
        supplier_region as region,
        supplier_zipcode as zipcode,
        lead_time_days,
        safety_stock_min_days,
        safety_stock_max_days,
        purchase_orders
    from latest
    where recency = 1
    union all
    select * from unknown
)

select * from final
