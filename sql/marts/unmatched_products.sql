-- grain: product as one source knows it, matched to no other source's product or to more than one
-- key: source, source_id
-- What to add to the crosswalk sql/seeds/product_map.csv: the rows of int_product_matches that kept a key
-- of their own (unmatched) or had several name candidates (ambiguous).
with matches as (
    select * from intermediate.int_product_matches
),

final as (
    select source, source_id, product_name, product_key, match_method, candidates
    from matches
    where match_method in ('unmatched', 'ambiguous')
)

select * from final
