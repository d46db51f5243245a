-- Reported in Dagster as a check on kpi__monthly_turnover, blocking: every export waits for it.
{{ config(meta={'dagster': {'ref': {'name': 'kpi__monthly_turnover'}}}) }}

-- The monthly turnover adds up, month by month, to the amounts of the (latest) invoices issued in
-- that month, so its total equals theirs. Returns a row (a failure) per month where the two differ,
-- a month missing on one side counting as 0 (the mart's months without invoices hold 0).

with

mart as (

    select
        month,
        sum(amount) as amount
    from {{ ref('kpi__monthly_turnover') }}
    group by month

),

invoices as (

    select
        {{ month_of('issue_date') }} as month,
        sum(amount) as amount
    from {{ ref('app__invoices') }}
    group by {{ month_of('issue_date') }}

),

compared as (

    select
        coalesce(mart.month, invoices.month) as month,
        coalesce(mart.amount, 0) as mart_amount,
        coalesce(invoices.amount, 0) as invoices_amount
    from mart
    full outer join invoices
        on mart.month = invoices.month

)

select
    month,
    mart_amount,
    invoices_amount
from compared
where mart_amount <> invoices_amount
