-- The day the marts describe (the dbt var as_of_date of the build), so readers such as the dashboard
-- can show it beside the figures: its row of the calendar. Reading dim_dates puts it downstream of
-- the invoices and contracts, so every build that refreshes them refreshes it too.

with

dates as (

    select * from {{ ref('dim_dates') }}

),

final as (

    select
        date_day as as_of_date,
        month as as_of_month
    from dates
    where date_day = {{ as_of_date() }}

)

select * from final
