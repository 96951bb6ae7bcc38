-- One row per catalogue product: current prices from the list, details from the last `get`
-- (details may lag a night or two while the read budget works through its queue).
with prices as (
    select * from plugivery.products
),

details as (
    select * from plugivery.product_details
),

renamed as (
    select
        p.id as plugivery_product_id,
        d.name,
        d.brand_id,
        d.brand_name,
        d.cat_id as category_id,
        d.cat_name as category_name,
        d.url,
        d.img as image_url,
        cast(p.msrp as decimal(18, 4)) as msrp,
        cast(p.map as decimal(18, 4)) as map_price,
        cast(p.cost as decimal(18, 4)) as dealer_cost,
        cast(p.reg_map as decimal(18, 4)) as regular_map_price,
        cast(p.reg_cost as decimal(18, 4)) as regular_dealer_cost,
        p.date as changed_at,
        d.fetched_at as details_fetched_at
    from prices p
    left join details d on d.id = p.id
)

select * from renamed
