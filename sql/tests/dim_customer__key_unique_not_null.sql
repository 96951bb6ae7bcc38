-- dim_customer.customer_key is unique and never null.
select customer_key, count(*) as n
from analytics.dim_customer
group by customer_key
having customer_key is null or count(*) > 1
