-- Line count and spend equal the raw lines of live (non-deleted) purchase orders.
with raw as (
    select count(*) as lines, sum(l.qty * l.expected_cost) as spend
    from pinogy.purchase_order_lines l
    join pinogy.purchase_orders po on po.id = l.transaction_id
    where not coalesce(po.deleted, false) and not coalesce(l.deleted, false)
),

mart as (
    select count(*) as lines, sum(extended_cost) as spend from analytics.fct_purchase_order_lines
)

select raw.lines as raw_lines, mart.lines as mart_lines, raw.spend as raw_spend, mart.spend as mart_spend
from raw, mart
where raw.lines <> mart.lines or coalesce(raw.spend, 0) <> coalesce(mart.spend, 0)
