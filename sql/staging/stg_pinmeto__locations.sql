-- grain: PinMeTo store, its current version
-- key: store_id
-- Locations as of now: the current version of each PinMeTo store (scd2 rows with no valid_to).
-- Their history is in pinmeto.locations itself: every version with _dlt_valid_from / _dlt_valid_to.
with source as (
    select * from pinmeto.locations
),

renamed as (
    select
        store_id,
        name as location_name,
        short_description,
        opening_date,
        phone,
        email,
        homepage,
        street,
        zip as zipcode,
        city,
        country,
        cast(lat as double) as latitude,
        cast(lon as double) as longitude,
        coalesce(permanently_closed, false) as is_permanently_closed,
        coalesce(is_always_open, false) as is_always_open,
        google_place_id,
        facebook_page_id,
        wifi_ssid,
        _dlt_valid_from as valid_from
    from source
    where _dlt_valid_to is null
)

select * from renamed
