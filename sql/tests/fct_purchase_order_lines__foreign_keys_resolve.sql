-- Every key points at a dimension member (possibly the explicit 'unknown' one).
select f.purchase_order_line_id, f.product_key, f.supplier_key, f.location_key
from analytics.fct_purchase_order_lines f
left join analytics.dim_product p using (product_key)
left join analytics.dim_supplier s using (supplier_key)
left join analytics.dim_location l using (location_key)
where p.product_key is null or s.supplier_key is null or l.location_key is null
