-- grain: catalogue product
-- key: plugivery_product_id
-- One row per catalogue product: its current prices from the list.
with source as (
    select * from plugivery.products
),

renamed as (
    select
        id as plugivery_product_id,
        msrp,
        "map" as map_price,
        cost as dealer_cost,
        reg_map as regular_map_price,
        reg_cost as regular_dealer_cost,
        date as changed_at
    from source
)

select * from renamed
