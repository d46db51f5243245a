-- One row per freelancer, entity and month in which the freelancer holds a job contract of that
-- entity (intermediate.job_contract_months: never after the as-of month), with the turnover of that
-- freelancer's contracts of that entity invoiced in the month by the as-of date (0 when there is
-- none). Feeds the auditor's cohort export.
-- Built by month: a run rewrites only the months whose rows changed (macros/incremental_months.sql).

{{
    config(
        materialized=materialized_by_month(),
        incremental_strategy='replace_months',
        unique_key='month',
        on_schema_change='fail',
    )
}}

with

job_contract_months as (

    select * from {{ ref('job_contract_months') }}

),

invoices as (

    select * from {{ ref('invoices') }}

),

freelancers as (

    select * from {{ ref('freelancers') }}

),

held_months as (

    select
        user_id,
        entity,
        month
    from job_contract_months
    where counts_for_freelancer

),

monthly_invoices as (

    -- an invoice dated after the as-of date has not been issued yet as of that date
    select
        user_id,
        entity,
        issue_month as month,
        sum(amount) as turnover,
        count(*) as invoice_count
    from invoices
    where not is_after_as_of
    group by
        user_id,
        entity,
        issue_month

),

final as (

    select
        -- ids
        freelancers.freelancer_key,
        held_months.user_id,

        -- identity
        freelancers.last_name,
        freelancers.first_name,
        freelancers.cohort_month,

        -- grain
        held_months.entity,
        held_months.month,

        -- amounts
        cast(coalesce(monthly_invoices.turnover, 0) as decimal(18, 2)) as turnover,
        coalesce(monthly_invoices.invoice_count, 0) as invoice_count

    from held_months
    left join monthly_invoices
        on held_months.user_id = monthly_invoices.user_id
        and held_months.entity = monthly_invoices.entity
        and held_months.month = monthly_invoices.month
    left join freelancers
        on held_months.user_id = freelancers.user_id

)

{{ changed_months_only('final', 'month') }}
