-- One row per freelancer, entity and month in which the freelancer holds a job contract of that
-- entity, with the turnover of that freelancer's contracts of that entity invoiced in the month
-- (0 when there is none). A contract is held from its start month through the month of its end
-- date, or through the as-of month while it is open. Feeds the auditor's cohort export.

with

job_contracts as (

    select * from {{ ref('job_contracts') }}

),

invoices as (

    select * from {{ ref('invoices') }}

),

freelancers as (

    select * from {{ ref('freelancers') }}

),

contract_periods as (

    select
        user_id,
        entity,
        start_month,
        coalesce(end_month, {{ as_of_month() }}) as through_month
    from job_contracts

),

months as (

    {{ month_spine(
        '(select min(start_month) from contract_periods)',
        '(select max(through_month) from contract_periods)'
    ) }}

),

held_months as (

    select distinct
        contract_periods.user_id,
        contract_periods.entity,
        months.date_month as month
    from contract_periods
    inner join months
        on months.date_month >= contract_periods.start_month
        and months.date_month <= contract_periods.through_month

),

monthly_invoices as (

    select
        user_id,
        entity,
        issue_month as month,
        sum(amount) as turnover,
        count(*) as invoice_count
    from invoices
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

select * from final
