-- One match per source product, always with a product key.
select source, source_id, count(*) as n
from analytics.product_matches
group by source, source_id
having source_id is null or count(*) > 1 or bool_or(product_key is null)
