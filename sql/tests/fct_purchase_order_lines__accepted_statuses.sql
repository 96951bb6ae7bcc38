select purchase_order_line_id, status, is_open
from analytics.fct_purchase_order_lines
where status not in ('Opened', 'Closed', 'Received', 'Ordered', 'Partial')
   or (status = 'Closed' and is_open)
