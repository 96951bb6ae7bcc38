-- grain: store × weekday × opening span (span 0: a closed day)
-- key: store_id, weekday_number, span_number
-- Current weekly opening hours: one row per store, weekday and span; closed days have no times.
with source as (
    select * from pinmeto.opening_hours
),

renamed as (
    select
        store_id,
        weekday,
        cast(weekday_number as integer) as weekday_number,
        span_number,
        coalesce(is_closed, false) as is_closed,
        cast(opens_at as time) as opens_at,
        cast(closes_at as time) as closes_at
    from source
    where _dlt_valid_to is null
)

select * from renamed
