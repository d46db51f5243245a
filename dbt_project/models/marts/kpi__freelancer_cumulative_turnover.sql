-- Cumulative turnover of every job contract, month by month, over the months it is held as of the
-- as-of date (intermediate.job_contract_months: from its start month through the month it ended, or
-- the as-of month while it is open). Flat, never absent, in months without invoices. Only invoices
-- issued by the as-of date count.
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

job_contracts as (

    select * from {{ ref('job_contracts') }}

),

invoices as (

    select * from {{ ref('invoices') }}

),

freelancers as (

    select * from {{ ref('freelancers') }}

),

monthly_invoices as (

    -- an invoice dated before its contract's start (which the source checks flag) still counts
    -- from the first month, so the cumulative sum holds every invoice issued up to each month's end;
    -- an invoice dated after the as-of date has not been issued yet as of that date
    select
        invoices.job_contract_id,
        case
            when invoices.issue_month < job_contracts.start_month then job_contracts.start_month
            else invoices.issue_month
        end as month,
        sum(invoices.amount) as turnover
    from invoices
    inner join job_contracts
        on invoices.job_contract_id = job_contracts.job_contract_id
    where not invoices.is_after_as_of
    group by
        invoices.job_contract_id,
        case
            when invoices.issue_month < job_contracts.start_month then job_contracts.start_month
            else invoices.issue_month
        end

),

cumulated_invoices as (

    -- the running total at each month a contract has invoices, valid until its next such month:
    -- a window over the invoiced months, far fewer rows than the months held
    select
        job_contract_id,
        month as from_month,
        -- no next invoiced month: valid for good (a far date keeps the join below an equi-join
        -- with ranges, which DuckDB runs as a hash join, where `is null or` would not be)
        lead(month, 1, cast('9999-12-01' as date)) over (
            partition by job_contract_id order by month
        ) as until_month,
        sum(turnover) over (
            partition by job_contract_id
            order by month
            rows between unbounded preceding and current row
        ) as cumulative_turnover
    from monthly_invoices

),

cumulated as (

    -- each month held takes the running total of its contract's latest invoiced month up to it,
    -- 0 before the first
    select
        job_contract_months.job_contract_id,
        job_contract_months.month,
        coalesce(cumulated_invoices.cumulative_turnover, 0) as cumulative_turnover
    from job_contract_months
    left join cumulated_invoices
        on job_contract_months.job_contract_id = cumulated_invoices.job_contract_id
        and job_contract_months.month >= cumulated_invoices.from_month
        and job_contract_months.month < cumulated_invoices.until_month

),

final as (

    select
        -- freelancer
        freelancers.last_name,
        freelancers.first_name,

        -- job contract
        job_contracts.start_date as job_contract_start_date,
        job_contracts.end_date as job_contract_end_date,
        job_contracts.entity,

        -- month and amount
        cumulated.month,
        cast(cumulated.cumulative_turnover as decimal(18, 2)) as cumulative_turnover

    from cumulated
    inner join job_contracts
        on cumulated.job_contract_id = job_contracts.job_contract_id
    left join freelancers
        on job_contracts.user_id = freelancers.user_id

)

{{ changed_months_only('final', 'month') }}
