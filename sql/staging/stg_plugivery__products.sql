-- grain: catalogue product
-- key: plugivery_product_id
-- One row per catalogue product: its current prices from the list.
with source as (
    select * from plugivery.products
),

renamed as (
    select
        id as plugivery_product_id,
        cast(msrp as decimal(18, 4)) as msrp,
        cast("map" as decimal(18, 4)) as map_price,
        cast(cost as decimal(18, 4)) as dealer_cost,
        cast(reg_map as decimal(18, 4)) as regular_map_price,
        cast(reg_cost as decimal(18, 4)) as regular_dealer_cost,
        date as changed_at
    from source
)

select * from renamed
