-- grain: store × special date range (the doc gives an entry one openTime/closeTime, not spans)
-- key: store_id, start_date, end_date
-- Current special opening hours (holidays, events): one row per store and date range.
with source as (
    select * from pinmeto.special_opening_hours
),

renamed as (
    select
        store_id,
        label,
        cast(start_date as date) as start_date,
        cast(end_date as date) as end_date,
        cast(opens_at as time) as opens_at,
        cast(closes_at as time) as closes_at,
        coalesce(is_closed, false) as is_closed
    from source
    where _dlt_valid_to is null
)

select * from renamed
