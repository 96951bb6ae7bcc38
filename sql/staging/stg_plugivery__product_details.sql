-- grain: catalogue product read with `get`
-- key: plugivery_product_id
-- One row per catalogue product read with `get`: name, brand, category, links.
with source as (
    select * from plugivery.product_details
),

renamed as (
    select
        id as plugivery_product_id,
        name,
        brand_id,
        brand_name,
        cat_id as category_id,
        cat_name as category_name,
        url,
        img as image_url,
        fetched_at as details_fetched_at
    from source
)

select * from renamed
