-- grain: web-shop customer (Pinnacle Cart), plus an unknown member
-- key: customer_key
-- The billing contact as the shop holds it.
with customers as (
    select * from staging.stg_pinnacle_cart__customers
),

final as (
    select
        'pinnacle_cart:' || customer_id as customer_key,
        customer_id,
        user_name,
        full_name,
        email,
        company,
        phone,
        city,
        state,
        zipcode,
        country
    from customers
    union all
    select 'unknown', null, null, 'Unknown customer', null, null, null, null, null, null, null
)

select * from final
