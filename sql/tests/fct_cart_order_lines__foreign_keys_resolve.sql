select f.order_item_id, f.product_key, f.customer_key
from analytics.fct_cart_order_lines f
left join analytics.dim_product p using (product_key)
left join analytics.dim_customer c using (customer_key)
where p.product_key is null or c.customer_key is null
