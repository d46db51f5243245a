-- The auditor's turnovers by cohort, a view exported to data/exports/turnovers_by_cohort_for_auditor.csv.
-- One row per freelancer, entity and month in which the freelancer holds a contract of that entity
-- as of the as-of date (see intermediate.freelancer_entity_months: no month after the as-of month),
-- with the month's turnover on those contracts by the as-of date: 0 when there is none, since the
-- auditor wants to see the zeros.
-- cohort = month of the freelancer's first contract start; cohort and month read `YYYY/MM`.
-- Row order, stable from run to run: last name, first name, cohort, entity, month, then the
-- freelancer's user id (not shown), which tells apart two freelancers of the same name and cohort:
-- without it their rows came in whatever order the table stored them, so two builds of the same
-- data wrote different files.

with

freelancer_entity_months as (

    select * from {{ ref('freelancer_entity_months') }}

),

final as (

    select
        user_id,
        last_name,
        first_name,
        {{ format_year_month('cohort_month') }} as cohort,
        entity,
        {{ format_year_month('month') }} as month,
        cast(round(turnover, 2) as decimal(18, 2)) as turnover
    from freelancer_entity_months

)

select
    last_name,
    first_name,
    cohort,
    entity,
    month,
    turnover
from final
order by
    last_name,
    first_name,
    cohort,
    entity,
    month,
    user_id
