-- grain: web-shop product
-- key: pid
-- One row per web-shop product; `product_id` is the shop's SKU, so it is renamed `sku` here.
with source as (
    select * from pinnacle_cart.products
),

renamed as (
    select
        pid,
        product_id as sku,
        nullif(trim(upc), '') as upc,
        title,
        price,
        cost,
        qoh as qty_on_hand,
        coalesce(discontinued, false) as is_discontinued,
        coalesce(taxable, false) as is_taxable,
        url
    from source
)

select * from renamed
