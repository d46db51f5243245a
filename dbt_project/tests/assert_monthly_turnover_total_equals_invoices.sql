-- Reported in Dagster as a check on kpi__monthly_turnover.
{{ config(meta={'dagster': {'ref': {'name': 'kpi__monthly_turnover'}}}) }}

-- The monthly turnover drops no invoice: its total equals the sum of all invoices.
-- Returns a row (a failure) when the two totals differ.

with

marts_total as (

    select coalesce(sum(amount), 0) as total from {{ ref('kpi__monthly_turnover') }}

),

invoices_total as (

    select coalesce(sum(amount), 0) as total from {{ ref('app__invoices') }}

)

select
    marts_total.total as monthly_turnover_total,
    invoices_total.total as invoices_total
from marts_total
cross join invoices_total
where marts_total.total <> invoices_total.total
