select s.total_spend, f.total_spend
from (select sum(spend) as total_spend from analytics.supplier_spend_monthly) s,
     (select sum(extended_cost) as total_spend from analytics.fct_purchase_order_lines) f
where coalesce(s.total_spend, 0) <> coalesce(f.total_spend, 0)
