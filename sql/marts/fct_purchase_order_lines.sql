-- grain: one line of a live (not MFD-deleted) Pinogy purchase order
-- key: purchase_order_line_id
-- With product, supplier and store keys.
with lines as (
    select * from staging.stg_pinogy__purchase_order_lines
),

purchase_orders as (
    select * from staging.stg_pinogy__purchase_orders
),

matches as (
    select source_id, product_key from intermediate.int_product_matches where source = 'pinogy'
),

suppliers as (
    select supplier_key, supplier_id from analytics.dim_supplier
),

locations as (
    select location_key, pinogy_location_id from analytics.dim_location where pinogy_location_id is not null
),

final as (
    select
        l.purchase_order_line_id,
        po.purchase_order_id,
        po.purchase_order_number,
        coalesce(m.product_key, 'unknown') as product_key,
        coalesce(s.supplier_key, 'unknown') as supplier_key,
        coalesce(loc.location_key, 'unknown') as location_key,
        po.opened_at,
        po.closed_at,
        po.status,
        po.is_open,
        l.product_description,
        l.qty,
        l.unit_cost,
        cast(l.qty * l.unit_cost as decimal(18, 4)) as extended_cost
    from lines l
    join purchase_orders po using (purchase_order_id)
    left join matches m on m.source_id = cast(l.pinogy_product_id as varchar)
    left join suppliers s on s.supplier_id = po.supplier_id
    left join locations loc on loc.pinogy_location_id = po.location_id
)

select * from final
