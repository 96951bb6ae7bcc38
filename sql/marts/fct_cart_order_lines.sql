-- Grain: one item of a web-shop (Pinnacle Cart) order, with customer and product keys.
with items as (
    select * from staging.stg_pinnacle_cart__order_items
),

orders as (
    select * from staging.stg_pinnacle_cart__orders
),

matches as (
    select source_id, product_key from analytics.product_matches where source = 'pinnacle_cart'
),

cart_products as (
    select pid, sku from staging.stg_pinnacle_cart__products
),

customers as (
    select customer_key, customer_id from analytics.dim_customer
),

final as (
    select
        i.order_item_id,
        o.order_id,
        o.order_number,
        coalesce(c.customer_key, 'unknown') as customer_key,
        coalesce(m.product_key, 'unknown') as product_key,
        o.ordered_at,
        o.status,
        i.product_title,
        i.qty,
        i.unit_price,
        cast(i.qty * i.unit_price as decimal(18, 4)) as extended_price
    from items i
    join orders o using (order_id)
    left join cart_products p on p.pid = i.pid or (i.pid is null and p.sku = i.sku)
    left join matches m on m.source_id = cast(p.pid as varchar)
    left join customers c on c.customer_id = o.customer_id
)

select * from final
