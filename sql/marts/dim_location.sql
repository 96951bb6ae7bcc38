-- grain: store
-- key: location_key
-- Pinogy's location (id and receipt name from purchase orders) matched to PinMeTo's listing through
-- sql/seeds/location_map.csv, else equal ids, else equal names; address, coordinates, open/closed from
-- PinMeTo's current version. Stores only one system knows keep a key of their own.
with purchase_orders as (
    select * from staging.stg_pinogy__purchase_orders
),

listings as (
    select * from staging.stg_pinmeto__locations
),

seed as (
    select cast(pinogy_location_id as bigint) as location_id, pinmeto_store_id from seeds.location_map
),

pinogy_locations as (
    -- a store's receipt name as its latest purchase order gives it
    select location_id, location_name
    from purchase_orders
    qualify row_number() over (partition by location_id order by opened_at desc, purchase_order_id desc) = 1
),

matched as (
    select
        p.location_id,
        p.location_name,
        coalesce(s.pinmeto_store_id, by_id.store_id, by_name.store_id) as store_id,
        case when s.pinmeto_store_id is not null then 'seed'
             when by_id.store_id is not null then 'id'
             when by_name.store_id is not null then 'name'
             else 'unmatched' end as match_method
    from pinogy_locations p
    left join seed s using (location_id)
    left join listings by_id on by_id.store_id = cast(p.location_id as varchar)
    left join listings by_name on lower(trim(by_name.location_name)) = lower(trim(p.location_name))
),

unioned as (
    select 'pinogy:' || location_id as location_key, location_id, store_id, location_name, match_method
    from matched
    union all
    select 'pinmeto:' || l.store_id, null, l.store_id, l.location_name, 'unmatched'
    from listings l
    where l.store_id not in (select store_id from matched where store_id is not null)
),

final as (
    select
        u.location_key,
        u.location_id as pinogy_location_id,
        u.store_id as pinmeto_store_id,
        coalesce(l.location_name, u.location_name) as location_name,
        u.match_method,
        l.street,
        l.zipcode,
        l.city,
        l.country,
        l.latitude,
        l.longitude,
        l.phone,
        coalesce(l.is_permanently_closed, false) as is_permanently_closed
    from unioned u
    left join listings l on l.store_id = u.store_id
    union all
    select 'unknown', null, null, 'Unknown location', 'unmatched', null, null, null, null, null, null, null, false
)

select * from final
