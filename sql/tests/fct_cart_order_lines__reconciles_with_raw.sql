-- Item count and extended price equal the raw order items (tombstone rows aside).
with raw as (
    select count(*) as items, sum(coalesce(updated_quantity, quantity) * coalesce(updated_price, price)) as amount
    from pinnacle_cart.order_items
    where not coalesce(_tombstone, false)
),

mart as (
    select count(*) as items, sum(extended_price) as amount from analytics.fct_cart_order_lines
)

select raw.items as raw_items, mart.items as mart_items, raw.amount as raw_amount, mart.amount as mart_amount
from raw, mart
where raw.items <> mart.items or coalesce(raw.amount, 0) <> coalesce(mart.amount, 0)
