-- Turnover per month, with every month from the first invoice's month through the as-of month (or
-- the last invoice's month if later): a month without invoices shows 0 instead of being absent.
-- Invoices dated after the as-of date (issued in advance) count, and show apart in scheduled_amount.
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

invoices as (

    select * from {{ ref('invoices') }}

),

months as (

    {{ turnover_month_spine('invoices') }}

),

monthly_invoices as (

    select
        issue_month as month,
        sum(amount) as amount,
        sum(case when is_after_as_of then amount else 0 end) as scheduled_amount
    from invoices
    group by issue_month

),

final as (

    select
        months.date_month as month,
        cast(coalesce(monthly_invoices.amount, 0) as decimal(18, 2)) as amount,
        cast(coalesce(monthly_invoices.scheduled_amount, 0) as decimal(18, 2)) as scheduled_amount
    from months
    left join monthly_invoices
        on months.date_month = monthly_invoices.month

)

{{ changed_months_only('final', 'month') }}
