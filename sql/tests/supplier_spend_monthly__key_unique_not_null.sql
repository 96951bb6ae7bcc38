-- supplier_spend_monthly.supplier_spend_key is unique and never null.
select supplier_spend_key, count(*) as n
from analytics.supplier_spend_monthly
group by supplier_spend_key
having supplier_spend_key is null or count(*) > 1
