-- Monthly report by entity with the month-over-month comparison: every month of
-- kpi__monthly_turnover times every entity, zeros rather than gaps.

with

invoices as (

    select * from {{ ref('invoices') }}

),

job_contracts as (

    select * from {{ ref('job_contracts') }}

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
        count(*) as invoice_count,
        count(distinct user_id) as invoicing_freelancers
    from invoices
    group by
        issue_month,
        entity

),

-- a freelancer is active in a month when one of their contracts of the entity covers at least one
-- day of it; an open contract runs through the as-of month
active_freelancers as (

    select
        month_entities.month,
        month_entities.entity,
        count(distinct job_contracts.user_id) as active_freelancers
    from month_entities
    inner join job_contracts
        on month_entities.entity = job_contracts.entity
        and job_contracts.start_month <= month_entities.month
        and coalesce(job_contracts.end_month, {{ as_of_month() }}) >= month_entities.month
    group by
        month_entities.month,
        month_entities.entity

),

monthly as (

    select
        month_entities.month,
        month_entities.entity,
        coalesce(monthly_invoices.turnover, 0) as turnover,
        coalesce(monthly_invoices.invoice_count, 0) as invoice_count,
        coalesce(active_freelancers.active_freelancers, 0) as active_freelancers,
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
        monthly.*,
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
        ) as turnover_change_pct

    from compared

)

select * from final
