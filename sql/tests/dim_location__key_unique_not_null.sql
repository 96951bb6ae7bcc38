-- dim_location.location_key is unique and never null.
select location_key, count(*) as n
from analytics.dim_location
group by location_key
having location_key is null or count(*) > 1
