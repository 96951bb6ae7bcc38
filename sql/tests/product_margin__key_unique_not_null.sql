-- product_margin.product_margin_key is unique and never null.
select product_margin_key, count(*) as n
from analytics.product_margin
group by product_margin_key
having product_margin_key is null or count(*) > 1
