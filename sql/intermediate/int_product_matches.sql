-- grain: product as one source knows it
-- key: source, source_id
-- The product_key it was matched to and how: seed (sql/seeds/product_map.csv), sku (normalised web SKU =
-- POS product code), name (normalised name, exactly one candidate), or unmatched / ambiguous (its own
-- key; grow the crosswalk from these rows, listed in analytics.unmatched_products).
-- Anchor precedence: a Pinogy POS product keys its group, then a Plugivery catalogue product.
with pinogy_lines as (
    select * from staging.stg_pinogy__purchase_order_lines
),

cart_products as (
    select * from staging.stg_pinnacle_cart__products
),

catalog_products as (
    select * from intermediate.int_plugivery_products
),

seed as (
    select source, source_id, product_key from seeds.product_map
),

pinogy as (
    -- a POS product's name and category as its latest purchase-order line gives them
    select
        'pinogy' as source,
        cast(pinogy_product_id as varchar) as source_id,
        product_description as product_name,
        product_category as category
    from pinogy_lines
    qualify row_number() over (
        partition by pinogy_product_id order by posted_at desc, purchase_order_line_id desc
    ) = 1
),

normalised as (
    select 'pinogy' as source, source_id, product_name,
           upper(trim(source_id)) as sku_norm, null as upc_norm,
           lower(regexp_replace(trim(product_name), '[^A-Za-z0-9]+', ' ', 'g')) as name_norm
    from pinogy
    union all
    select 'pinnacle_cart', cast(pid as varchar), title,
           upper(trim(sku)), nullif(regexp_replace(upc, '[^0-9]', '', 'g'), ''),
           lower(regexp_replace(trim(title), '[^A-Za-z0-9]+', ' ', 'g'))
    from cart_products
    union all
    select 'plugivery', cast(plugivery_product_id as varchar), name,
           null, null,
           lower(regexp_replace(trim(name), '[^A-Za-z0-9]+', ' ', 'g'))
    from catalog_products
),

pinogy_names as (
    select name_norm, min(source_id) as source_id, count(*) as candidates
    from normalised where source = 'pinogy' group by name_norm
),

catalog_names as (
    select name_norm, min(source_id) as source_id, count(*) as candidates
    from normalised where source = 'plugivery' group by name_norm
),

catalog_keys as (
    -- a catalogue product's key: seed, else a unique Pinogy name match, else its own
    select
        c.source_id,
        coalesce(s.product_key, case when pn.candidates = 1 then 'pinogy:' || pn.source_id end,
                 'plugivery:' || c.source_id) as product_key,
        case when s.product_key is not null then 'seed'
             when pn.candidates = 1 then 'name'
             when pn.candidates > 1 then 'ambiguous'
             else 'unmatched' end as match_method,
        coalesce(pn.candidates, 0) as candidates
    from normalised c
    left join seed s on s.source = 'plugivery' and s.source_id = c.source_id
    left join pinogy_names pn on pn.name_norm = c.name_norm
    where c.source = 'plugivery'
),

cart_keys as (
    select
        c.source_id,
        case
            when s.product_key is not null then s.product_key
            when p_sku.source_id is not null then 'pinogy:' || p_sku.source_id
            when pn.candidates = 1 then 'pinogy:' || pn.source_id
            when cn.candidates = 1 then ck.product_key
            else 'pinnacle_cart:' || c.source_id
        end as product_key,
        case
            when s.product_key is not null then 'seed'
            when p_sku.source_id is not null then 'sku'
            when pn.candidates = 1 or cn.candidates = 1 then 'name'
            when pn.candidates > 1 or cn.candidates > 1 then 'ambiguous'
            else 'unmatched'
        end as match_method,
        coalesce(pn.candidates, 0) + coalesce(cn.candidates, 0) as candidates
    from normalised c
    left join seed s on s.source = 'pinnacle_cart' and s.source_id = c.source_id
    left join normalised p_sku on p_sku.source = 'pinogy' and p_sku.sku_norm = c.sku_norm
    left join pinogy_names pn on pn.name_norm = c.name_norm
    left join catalog_names cn on cn.name_norm = c.name_norm
    left join catalog_keys ck on ck.source_id = cn.source_id
    where c.source = 'pinnacle_cart'
),

final as (
    select
        n.source,
        n.source_id,
        n.product_name,
        coalesce(s.product_key, 'pinogy:' || n.source_id) as product_key,
        case when s.product_key is not null then 'seed' else 'anchor' end as match_method,
        0 as candidates
    from normalised n
    left join seed s on s.source = 'pinogy' and s.source_id = n.source_id
    where n.source = 'pinogy'
    union all
    select 'plugivery', n.source_id, n.product_name, k.product_key, k.match_method, k.candidates
    from normalised n join catalog_keys k using (source_id)
    where n.source = 'plugivery'
    union all
    select 'pinnacle_cart', n.source_id, n.product_name, k.product_key, k.match_method, k.candidates
    from normalised n join cart_keys k using (source_id)
    where n.source = 'pinnacle_cart'
)

select * from final
