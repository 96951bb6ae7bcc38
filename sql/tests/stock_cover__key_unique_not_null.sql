-- stock_cover.product_key is unique and never null.
select product_key, count(*) as n
from analytics.stock_cover
group by product_key
having product_key is null or count(*) > 1
