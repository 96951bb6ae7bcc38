-- fct_purchase_order_lines.purchase_order_line_id is unique and never null.
select purchase_order_line_id, count(*) as n
from analytics.fct_purchase_order_lines
group by purchase_order_line_id
having purchase_order_line_id is null or count(*) > 1
