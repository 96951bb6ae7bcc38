-- dim_product.product_key is unique and never null.
select product_key, count(*) as n
from analytics.dim_product
group by product_key
having product_key is null or count(*) > 1
