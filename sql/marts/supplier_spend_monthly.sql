-- grain: supplier × store × month (of the PO's opening, UTC)
-- key: supplier_spend_key
-- Purchase orders, lines, units and spend.
with lines as (
    select * from analytics.fct_purchase_order_lines
),

suppliers as (
    select supplier_key, supplier_name from analytics.dim_supplier
),

locations as (
    select location_key, location_name from analytics.dim_location
),

lines_by_month as (
    select
        supplier_key,
        location_key,
        cast(date_trunc('month', opened_at at time zone 'UTC') as date) as month,
        purchase_order_id,
        qty,
        extended_cost
    from lines
),

monthly as (
    select
        supplier_key,
        location_key,
        month,
        count(distinct purchase_order_id) as purchase_orders,
        count(*) as lines,
        sum(qty) as units,
        sum(extended_cost) as spend
    from lines_by_month
    group by supplier_key, location_key, month
),

final as (
    select
        m.supplier_key || '|' || m.location_key || '|' || strftime(m.month, '%Y-%m') as supplier_spend_key,
        m.supplier_key,
        s.supplier_name,
        m.location_key,
        l.location_name,
        m.month,
        m.purchase_orders,
        m.lines,
        m.units,
        m.spend
    from monthly m
    join suppliers s using (supplier_key)
    join locations l using (location_key)
)

select * from final
