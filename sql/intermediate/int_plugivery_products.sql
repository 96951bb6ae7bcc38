-- grain: catalogue product
-- key: plugivery_product_id
-- Current prices from the list, details from the last `get` (details may lag a night or two while the
-- read budget works through its queue: a product without them yet has null name, brand and category).
with prices as (
    select * from staging.stg_plugivery__products
),

details as (
    select * from staging.stg_plugivery__product_details
),

final as (
    select
        p.plugivery_product_id,
        d.name,
        d.brand_id,
        d.brand_name,
        d.category_id,
        d.category_name,
        d.url,
        d.image_url,
        p.msrp,
        p.map_price,
        p.dealer_cost,
        p.regular_map_price,
        p.regular_dealer_cost,
        p.changed_at,
        d.details_fetched_at
    from prices p
    left join details d using (plugivery_product_id)
)

select * from final
