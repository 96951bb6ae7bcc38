-- grain: web-shop customer
-- key: customer_id
-- One row per web-shop customer with the billing contact.
with source as (
    select * from pinnacle_cart.customers
),

renamed as (
    select
        user_id as customer_id,
        user_name,
        billing_full_name as full_name,
        lower(trim(billing_email)) as email,
        nullif(billing_company, '') as company,
        billing_phone as phone,
        billing_address_city as city,
        billing_address_state as state,
        billing_address_zip as zipcode,
        billing_address_country as country
    from source
)

select * from renamed
