-- grain: web-shop product × daily stock snapshot
-- key: pid, snapshot_date
-- One row per product and daily snapshot of stock on hand.
with source as (
    select * from pinnacle_cart.inventory
),

renamed as (
    select
        pid,
        product_id as sku,
        snapshot_date,
        snapshot_at,
        qoh as qty_on_hand
    from source
)

select * from renamed
