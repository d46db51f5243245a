-- Reported in Dagster as a check on kpi__monthly_turnover_by_entity.
{{ config(meta={'dagster': {'ref': {'name': 'kpi__monthly_turnover_by_entity'}}}) }}

-- The monthly turnover by entity drops no invoice, and agrees month by month with kpi__monthly_turnover,
-- on the turnover and on its scheduled part (dated after the as-of date).
-- Returns a row (a failure) per month where the entities' turnovers do not add up to the month's
-- amount, or where a month is in one model and not the other.

with

by_entity as (

    select
        month,
        sum(turnover) as turnover,
        sum(scheduled_turnover) as scheduled_turnover
    from {{ ref('kpi__monthly_turnover_by_entity') }}
    group by month

),

monthly as (

    select
        month,
        amount,
        scheduled_amount
    from {{ ref('kpi__monthly_turnover') }}

)

select
    coalesce(monthly.month, by_entity.month) as month,
    monthly.amount,
    by_entity.turnover,
    monthly.scheduled_amount,
    by_entity.scheduled_turnover
from monthly
full outer join by_entity
    on monthly.month = by_entity.month
where monthly.month is null
    or by_entity.month is null
    or monthly.amount <> by_entity.turnover
    or monthly.scheduled_amount <> by_entity.scheduled_turnover
