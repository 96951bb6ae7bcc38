-- grain: web-shop product priced below the catalogue's MAP right now
-- key: product_key
-- The current MAP follows promotions (Plugivery's `map`); a current promotion's promo MAP wins when present.
with products as (
    select * from analytics.dim_product
),

promotions as (
    select * from staging.stg_plugivery__promotions
),

current_promo as (
    select plugivery_product_id, min(promo_map) as promo_map, min(promotion_id) as promotion_id
    from promotions
    where state_name = 'current'
    group by plugivery_product_id
),

priced as (
    select
        p.product_key,
        p.product_name,
        p.web_price,
        coalesce(cp.promo_map, p.map_price) as map_price,
        cp.promotion_id
    from products p
    left join current_promo cp using (plugivery_product_id)
    where p.web_price is not null and coalesce(cp.promo_map, p.map_price) is not null
),

final as (
    select
        product_key,
        product_name,
        web_price,
        map_price,
        cast(map_price - web_price as decimal(18, 4)) as below_map_by,
        promotion_id
    from priced
    where web_price < map_price
)

select * from final
