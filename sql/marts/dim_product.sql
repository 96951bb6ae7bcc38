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

members as (
    -- every source product of a real product, with what its own source knows of it
    select
        m.product_key,
        m.source,
        case when m.source = 'pinogy' then m.product_name end as pos_name,
        case when m.source = 'pinogy' then m.source_id end as pinogy_product_id,
        c.title as web_title,
        c.sku,
        c.upc,
        c.pid as pinnacle_pid,
        c.price as web_price,
        p.name as catalog_name,
        p.brand_name as brand,
        p.category_name as catalog_category,
        p.plugivery_product_id,
        p.msrp,
        p.map_price,
        p.dealer_cost
    from matches m
    left join cart_products c on m.source = 'pinnacle_cart' and m.source_id = cast(c.pid as varchar)
    left join catalog_products p
        on m.source = 'plugivery' and m.source_id = cast(p.plugivery_product_id as varchar)
),

products as (
    select
        product_key,
        min(pos_name) as pos_name,
        min(pinogy_product_id) as pinogy_product_id,
        min(web_title) as web_title,
        min(sku) as sku,
        min(upc) as upc,
        min(pinnacle_pid) as pinnacle_pid,
        min(web_price) as web_price,
        min(catalog_name) as catalog_name,
        min(brand) as brand,
        min(catalog_category) as catalog_category,
        min(plugivery_product_id) as plugivery_product_id,
        min(msrp) as msrp,
        min(map_price) as map_price,
        min(dealer_cost) as dealer_cost,
        bool_or(source = 'pinogy') as is_in_pos,
        bool_or(pinnacle_pid is not null) as is_in_web_shop,
        bool_or(plugivery_product_id is not null) as is_in_catalog
    from members
    group by product_key
),

final as (
    select
        product_key,
        coalesce(pos_name, catalog_name, trim(web_title), product_key || ' (details pending)') as product_name,
        brand,
        catalog_category as category,
        cast(pinogy_product_id as bigint) as pinogy_product_id,
        pinnacle_pid,
        plugivery_product_id,
        sku,
        upc,
        web_price,
        msrp,
        map_price,
        dealer_cost,
        is_in_pos,
        is_in_web_shop,
        is_in_catalog
    from products
    union all
    select 'unknown', 'Unknown product', null, null, null, null, null, null, null, null, null, null, null,
           false, false, false
)

select * from final
