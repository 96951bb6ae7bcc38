-- grain: one item of a web-shop (Pinnacle Cart) order
-- key: order_item_id
-- With customer and product keys. The API gives orders no customer id, so the customer is the one whose
-- billing email the order carries.
with items as (
    select * from staging.stg_pinnacle_cart__order_items
),

orders as (
    select * from staging.stg_pinnacle_cart__orders
),

customers as (
    select email, min(customer_key) as customer_key
    from analytics.dim_customer
    where email is not null
    group by email
),

matches as (
    select source_id, product_key from intermediate.int_product_matches where source = 'pinnacle_cart'
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
    left join matches m on m.source_id = cast(i.pid as varchar)
    left join customers c on c.email = o.billing_email
)

select * from final
