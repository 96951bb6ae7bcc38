-- grain: live purchase-order line
-- key: purchase_order_line_id
-- One row per live purchase-order line (deleted lines dropped); money and quantities DECIMAL.
with source as (
    select * from pinogy.purchase_order_lines
),

renamed as (
    select
        id as purchase_order_line_id,
        transaction_id as purchase_order_id,
        product_id as pinogy_product_id,
        product_description,
        product_category,
        product_subcategory,
        qty,
        expected_cost as unit_cost,
        posted_on as posted_at
    from source
    where not coalesce(deleted, false)
)

select * from renamed
