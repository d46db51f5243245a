-- Cumulative turnover of every job contract, month by month, from the contract's start month through
-- the month of its end date (the as-of month while it is open). Flat, never absent, in months without
-- invoices.

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
        job_contract_id,
        user_id,
        entity,
        start_date,
        end_date,
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

contract_months as (

    select
        contract_periods.*,
        months.date_month as month
    from contract_periods
    inner join months
        on months.date_month >= contract_periods.start_month
        and months.date_month <= contract_periods.through_month

),

monthly_invoices as (

    -- an invoice dated before its contract's start (which the source checks flag) still counts
    -- from the first month, so the cumulative sum holds every invoice issued up to each month's end
    select
        invoices.job_contract_id,
        case
            when invoices.issue_month < contract_periods.start_month then contract_periods.start_month
            else invoices.issue_month
        end as month,
        sum(invoices.amount) as turnover
    from invoices
    inner join contract_periods
        on invoices.job_contract_id = contract_periods.job_contract_id
    group by
        invoices.job_contract_id,
        case
            when invoices.issue_month < contract_periods.start_month then contract_periods.start_month
            else invoices.issue_month
        end

),

cumulated as (

    select
        contract_months.*,
        sum(coalesce(monthly_invoices.turnover, 0)) over (
            partition by contract_months.job_contract_id
            order by contract_months.month
            rows between unbounded preceding and current row
        ) as cumulative_turnover
    from contract_months
    left join monthly_invoices
        on contract_months.job_contract_id = monthly_invoices.job_contract_id
        and contract_months.month = monthly_invoices.month

),

final as (

    select
        -- freelancer
        freelancers.last_name,
        freelancers.first_name,

        -- job contract
        cumulated.start_date as job_contract_start_date,
        cumulated.end_date as job_contract_end_date,
        cumulated.entity,

        -- month and amount
        cumulated.month,
        cast(cumulated.cumulative_turnover as decimal(18, 2)) as cumulative_turnover

    from cumulated
    left join freelancers
        on cumulated.user_id = freelancers.user_id

)

select * from final
