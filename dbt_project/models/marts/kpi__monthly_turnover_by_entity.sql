-- Monthly report by entity with the month-over-month comparison: every month of
-- kpi__monthly_turnover times every entity, zeros rather than gaps. Invoices dated after the as-of
-- date count, and show apart in scheduled_turnover; active freelancers are known through the as-of
-- month only (null after it).
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

job_contract_months as (

    select * from {{ ref('job_contract_months') }}

),

months as (

    {{ turnover_month_spine('invoices') }}

),

entities as (

    {{ entities_as_rows() }}

),

month_entities as (

    select
        months.date_month as month,
        entities.entity
    from months
    cross join entities

),

monthly_invoices as (

    select
        issue_month as month,
        entity,
        sum(amount) as turnover,
        sum(case when is_after_as_of then amount else 0 end) as scheduled_turnover,
        count(*) as invoice_count,
        count(distinct user_id) as invoicing_freelancers
    from invoices
    group by
        issue_month,
        entity

),

-- a freelancer is active in a month when they hold a contract of the entity in it
-- (intermediate.job_contract_months, one row per freelancer counted); no month after the as-of month
active_freelancers as (

    select
        month,
        entity,
        count(*) as active_freelancers
    from job_contract_months
    where counts_for_freelancer
    group by
        month,
        entity

),

monthly as (

    select
        month_entities.month,
        month_entities.entity,
        coalesce(monthly_invoices.turnover, 0) as turnover,
        coalesce(monthly_invoices.scheduled_turnover, 0) as scheduled_turnover,
        coalesce(monthly_invoices.invoice_count, 0) as invoice_count,
        -- who holds a contract in a month that has not come yet is not known
        case
            when month_entities.month <= {{ as_of_month() }}
                then coalesce(active_freelancers.active_freelancers, 0)
        end as active_freelancers,
        coalesce(monthly_invoices.invoicing_freelancers, 0) as invoicing_freelancers
    from month_entities
    left join monthly_invoices
        on month_entities.month = monthly_invoices.month
        and month_entities.entity = monthly_invoices.entity
    left join active_freelancers
        on month_entities.month = active_freelancers.month
        and month_entities.entity = active_freelancers.entity

),

compared as (

    select
        *,
        -- the month before the first one has no invoices: its turnover is 0, not unknown
        coalesce(
            lag(turnover) over (partition by entity order by month),
            0
        ) as previous_month_turnover
    from monthly

),

final as (

    select
        -- grain
        month,
        entity,

        -- turnover
        cast(turnover as decimal(18, 2)) as turnover,
        cast(invoice_count as bigint) as invoice_count,

        -- freelancers
        cast(active_freelancers as bigint) as active_freelancers,
        cast(invoicing_freelancers as bigint) as invoicing_freelancers,

        -- month over month
        cast(previous_month_turnover as decimal(18, 2)) as previous_month_turnover,
        cast(
            round(100.0 * (turnover - previous_month_turnover) / nullif(previous_month_turnover, 0), 2)
            as decimal(18, 2)
        ) as turnover_change_pct,

        -- after the as-of date
        cast(scheduled_turnover as decimal(18, 2)) as scheduled_turnover

    from compared

)

{{ changed_months_only('final', 'month') }}
