-- grain: web-shop order
-- key: order_id
-- One row per web-shop order. The API gives orders no customer id: the billing email stands in for it.
with source as (
    select * from pinnacle_cart.orders
),

renamed as (
    select
        order_id,
        order_number,
        order_date as ordered_at,
        status,
        status_date as status_changed_at,
        payment_method,
        payment_status,
        lower(trim(billing_email)) as billing_email,
        billing_full_name,
        shipping_address_city as ship_to_city,
        shipping_address_state as ship_to_state,
        cast(subtotal_amount as decimal(18, 4)) as subtotal_amount,
        cast(discount_amount as decimal(18, 4)) as discount_amount,
        cast(promo_discount_amount as decimal(18, 4)) as promo_discount_amount,
        cast(shipping_amount as decimal(18, 4)) as shipping_amount,
        cast(handling_amount as decimal(18, 4)) as handling_amount,
        cast(tax_amount as decimal(18, 4)) as tax_amount,
        cast(total_amount as decimal(18, 4)) as total_amount
    from source
)

select * from renamed
