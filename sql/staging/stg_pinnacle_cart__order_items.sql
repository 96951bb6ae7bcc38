-- grain: item of a web-shop order
-- key: order_item_id
-- One row per item of a web-shop order (tombstone rows that only clear an order's items are dropped).
with source as (
    select * from pinnacle_cart.order_items
),

renamed as (
    select
        cast(order_id as varchar) || '-' || cast(line_number as varchar) as order_item_id,
        order_id,
        line_number,
        pid,
        product_id as sku,
        title as product_title,
        cast(coalesce(updated_quantity, quantity) as decimal(18, 4)) as qty,
        cast(coalesce(updated_price, price) as decimal(18, 4)) as unit_price
    from source
    where not coalesce(_tombstone, false)
)

select * from renamed
