-- Reported in Dagster as a check on fct_invoices.
{{ config(meta={'dagster': {'ref': {'name': 'fct_invoices'}}}) }}

-- The fact table holds every invoice once: same count and same total as the staged invoices.

with

fact as (

    select
        count(*) as invoice_count,
        coalesce(sum(amount), 0) as total
    from {{ ref('fct_invoices') }}

),

staged as (

    select
        count(*) as invoice_count,
        coalesce(sum(amount), 0) as total
    from {{ ref('app__invoices') }}

)

select
    fact.invoice_count as fact_invoice_count,
    staged.invoice_count as staged_invoice_count,
    fact.total as fact_total,
    staged.total as staged_total
from fact
cross join staged
where fact.invoice_count <> staged.invoice_count
    or fact.total <> staged.total
