-- dim_supplier.supplier_key is unique and never null.
select supplier_key, count(*) as n
from analytics.dim_supplier
group by supplier_key
having supplier_key is null or count(*) > 1
