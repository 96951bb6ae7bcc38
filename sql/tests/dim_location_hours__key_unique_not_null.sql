-- dim_location_hours.location_hours_key is unique and never null.
select location_hours_key, count(*) as n
from analytics.dim_location_hours
group by location_hours_key
having location_hours_key is null or count(*) > 1
