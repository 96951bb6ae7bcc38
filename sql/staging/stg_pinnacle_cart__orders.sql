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
        subtotal_amount,
        discount_amount,
        promo_discount_amount,
        shipping_amount,
        handling_amount,
        tax_amount,
        total_amount
    from source
)

select * from renamed
