-- kpi__monthly_turnover has one row per month, with no gap: each month but the first follows
-- another one. Returns the months whose previous month is missing.

with

months as (

    select month from {{ ref('kpi__monthly_turnover') }}

),

previous_months as (

    select
        month,
        cast({{ dbt.dateadd('month', -1, 'month') }} as date) as previous_month
    from months

)

select previous_months.month
from previous_months
left join months
    on previous_months.previous_month = months.month
where months.month is null
    and previous_months.month > (select min(month) from months)
