-- grain: catalogue promotion
-- key: promotion_id
-- One row per catalogue promotion, every state (0 future, 1 current, 2 closed in grace, 3 past).
with source as (
    select * from plugivery.promotions
),

renamed as (
    select
        id as promotion_id,
        cast(state as integer) as state,
        case cast(state as integer) when 0 then 'future' when 1 then 'current' when 2 then 'grace'
             when 3 then 'past' end as state_name,
        prod_id as plugivery_product_id,
        start as starts_at,
        "end" as ends_at,
        promo_map,
        promo_cost,
        reg_map as regular_map_price,
        msrp
    from source
)

select * from renamed
