-- fct_cart_order_lines.order_item_id is unique and never null.
select order_item_id, count(*) as n
from analytics.fct_cart_order_lines
group by order_item_id
having order_item_id is null or count(*) > 1
