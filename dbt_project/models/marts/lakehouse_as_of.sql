-- The day the marts describe (the dbt var as_of_date of the build), so readers such as the dashboard
-- can show it beside the figures.

with

final as (

    select
        {{ as_of_date() }} as as_of_date,
        {{ as_of_month() }} as as_of_month

)

select * from final
