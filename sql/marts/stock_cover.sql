-- grain: web-shop product
-- key: product_key
-- Stock on hand (latest inventory snapshot), units sold per day over the last `sales_window_days` of
-- orders, days of cover, and a reorder flag when cover falls under the supplier's lead time plus
-- safety-stock days (from the PO `options` of the supplier it was last bought from).
with products as (
    select * from analytics.dim_product
),

inventory as (
    select * from staging.stg_pinnacle_cart__inventory
),

cart_lines as (
    select * from analytics.fct_cart_order_lines
),

margins as (
    select product_key, supplier_key, last_purchased_at from analytics.product_margin
),

suppliers as (
    select * from analytics.dim_supplier
),

latest_stock as (
    select pid, qty_on_hand, snapshot_date
    from inventory
    qualify row_number() over (partition by pid order by snapshot_date desc) = 1
),

window_end as (
    -- units per day average the orders of this many days, counted back from the last order
    select coalesce(max(ordered_at), now()) as last_order_at, 28.0 as sales_window_days from cart_lines
),

sales as (
    select product_key, sum(qty) / sales_window_days as units_per_day
    from cart_lines, window_end
    where ordered_at > last_order_at - cast(sales_window_days as integer) * interval '1 day'
        and status not in ('Canceled', 'Cancelled')
    group by product_key, sales_window_days
),

supplier_of as (
    -- the supplier a product was last bought from
    select product_key, supplier_key
    from margins
    qualify row_number() over (partition by product_key order by last_purchased_at desc, supplier_key desc) = 1
),

final as (
    select
        p.product_key,
        p.product_name,
        st.snapshot_date,
        st.qty_on_hand,
        cast(coalesce(sa.units_per_day, 0) as decimal(18, 4)) as units_per_day,
        case when coalesce(sa.units_per_day, 0) > 0
             then cast(st.qty_on_hand / sa.units_per_day as decimal(18, 1)) end as days_of_cover,
        coalesce(su.lead_time_days, 0) + coalesce(su.safety_stock_min_days, 0) as reorder_point_days,
        coalesce(sa.units_per_day, 0) > 0
            and st.qty_on_hand / sa.units_per_day
                < coalesce(su.lead_time_days, 0) + coalesce(su.safety_stock_min_days, 0) as needs_reorder
    from products p
    join latest_stock st on st.pid = p.pinnacle_pid
    left join sales sa using (product_key)
    left join supplier_of so using (product_key)
    left join suppliers su on su.supplier_key = so.supplier_key
)

select * from final
