-- grain: store × weekday × opening span
-- key: location_hours_key
-- From PinMeTo's current hours; a closed day has one row with is_closed and no times.
with hours as (
    select * from staging.stg_pinmeto__opening_hours
),

locations as (
    select location_key, pinmeto_store_id, location_name from analytics.dim_location
    where pinmeto_store_id is not null
),

final as (
    select
        l.location_key || '|' || h.weekday || '|' || h.span_number
            as location_hours_key,
        l.location_key,
        l.location_name,
        h.weekday,
        h.weekday_number,
        h.opens_at,
        h.closes_at,
        h.is_closed
    from hours h
    join locations l on l.pinmeto_store_id = h.store_id
)

select * from final
