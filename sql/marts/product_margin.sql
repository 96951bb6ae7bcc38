-- grain: product × supplier it was last bought from (Pinogy), plus web products never bought there
-- key: product_margin_key
-- Web price (Pinnacle Cart), last purchase cost, catalogue dealer cost, MSRP and MAP (Plugivery), and the
-- margin of the web price over the last purchase cost (else the dealer cost).
with products as (
    select * from analytics.dim_product
),

po_lines as (
    select * from analytics.fct_purchase_order_lines
),

suppliers as (
    select supplier_key, supplier_name from analytics.dim_supplier
),

last_cost as (
    -- the unit cost of the latest purchase of a product from a supplier: the last line of its latest PO
    -- (a PO can list a product twice, at two costs)
    select product_key, supplier_key, unit_cost as last_purchase_cost, opened_at as last_purchased_at
    from po_lines
    where product_key <> 'unknown'
    qualify row_number() over (
        partition by product_key, supplier_key order by opened_at desc, purchase_order_line_id desc
    ) = 1
),

joined as (
    select
        p.product_key,
        p.product_name,
        coalesce(c.supplier_key, 'unknown') as supplier_key,
        p.web_price,
        c.last_purchase_cost,
        c.last_purchased_at,
        p.dealer_cost as catalog_cost,
        p.msrp,
        p.map_price,
        coalesce(c.last_purchase_cost, p.dealer_cost) as cost_basis
    from products p
    left join last_cost c using (product_key)
    where p.web_price is not null
),

final as (
    select
        j.product_key || '|' || j.supplier_key as product_margin_key,
        j.product_key,
        j.product_name,
        j.supplier_key,
        s.supplier_name,
        j.web_price,
        j.last_purchase_cost,
        j.last_purchased_at,
        j.catalog_cost,
        j.msrp,
        j.map_price,
        cast(j.web_price - j.cost_basis as decimal(18, 4)) as margin,
        case when j.web_price > 0
             then cast(100 * (j.web_price - j.cost_basis) / j.web_price as decimal(9, 2)) end as margin_pct
    from joined j
    left join suppliers s using (supplier_key)
)

select * from final
