-- Every source product is matched to a product key, if only its own.
select source, source_id
from intermediate.int_product_matches
where product_key is null
