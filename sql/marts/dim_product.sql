-- grain: real product (product_key from int_product_matches)
-- key: product_key
-- Its best-known attributes across sources: POS name and category (Pinogy), web SKU/UPC/price
-- (Pinnacle Cart), brand and catalogue prices (Plugivery).
with matches as (
    select * from intermediate.int_product_matches
),

cart_products as (
    select * from staging.stg_pinnacle_cart__products
),

catalog_products as (
    select * from intermediate.int_plugivery_products
),

pinogy as (
    select product_key, min(product_name) as pos_name, min(source_id) as pinogy_product_id
    from matches where source = 'pinogy' group by product_key
),

cart as (
    select
        m.product_key,
        min(c.title) as web_title,
        min(c.sku) as sku,
        min(c.upc) as upc,
        min(c.pid) as pinnacle_pid,
        min(c.price) as web_price
    from matches m
    join cart_products c on m.source = 'pinnacle_cart' and m.source_id = cast(c.pid as varchar)
    group by m.product_key
),

catalog as (
    select
        m.product_key,
        min(p.name) as catalog_name,
        min(p.brand_name) as brand,
        min(p.category_name) as catalog_category,
        min(p.plugivery_product_id) as plugivery_product_id,
        min(p.msrp) as msrp,
        min(p.map_price) as map_price,
        min(p.dealer_cost) as dealer_cost
    from matches m
    join catalog_products p on m.source = 'plugivery' and m.source_id = cast(p.plugivery_product_id as varchar)
    group by m.product_key
),

keys as (
    select distinct product_key from matches
),

final as (
    select
        k.product_key,
        coalesce(pinogy.pos_name, catalog.catalog_name, trim(cart.web_title),
                 k.product_key || ' (details pending)') as product_name,
        catalog.brand,
        catalog.catalog_category as category,
        cast(pinogy.pinogy_product_id as bigint) as pinogy_product_id,
        cart.pinnacle_pid,
        catalog.plugivery_product_id,
        cart.sku,
        cart.upc,
        cart.web_price,
        catalog.msrp,
        catalog.map_price,
        catalog.dealer_cost,
        pinogy.product_key is not null as is_in_pos,
        cart.product_key is not null as is_in_web_shop,
        catalog.product_key is not null as is_in_catalog
    from keys k
    left join pinogy using (product_key)
    left join cart using (product_key)
    left join catalog using (product_key)
    union all
    select 'unknown', 'Unknown product', null, null, null, null, null, null, null, null, null, null, null,
           false, false, false
)

select * from final
