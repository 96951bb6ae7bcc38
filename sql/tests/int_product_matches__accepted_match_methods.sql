select source, source_id, match_method
from intermediate.int_product_matches
where match_method not in ('seed', 'anchor', 'sku', 'name', 'ambiguous', 'unmatched')
