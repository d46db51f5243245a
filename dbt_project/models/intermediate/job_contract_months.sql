-- One row per job contract and month it is held, as of the as-of date (dbt_project/README.md): a
-- contract is held from its start month through the month it ended, or through the as-of month
-- while it is open; a contract that has not started by the as-of date holds no month. No month
-- after the as-of month, whatever the contract's scheduled end.
-- The months held by a freelancer under an entity, the active freelancers of a month and the
-- cumulative turnover of a contract are all counted on these rows.
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

job_contracts as (

    select * from {{ ref('job_contracts') }}

),

held_periods as (

    select
        job_contract_id,
        user_id,
        entity,
        start_month,
        -- end_month is never after the as-of month: a later end is only scheduled
        coalesce(end_month, {{ as_of_month() }}) as through_month,
        -- the last month held by the freelancer's earlier contracts of the entity: when a contract
        -- ends and the next one starts in the same month, both hold that month
        max(coalesce(end_month, {{ as_of_month() }})) over (
            partition by user_id, entity
            order by contract_number
            rows between unbounded preceding and 1 preceding
        ) as earlier_through_month
    from job_contracts
    where has_started

),

months as (

    {{ month_spine('(select min(start_month) from held_periods)', as_of_month()) }}

),

final as (

    select
        -- ids
        held_periods.job_contract_id,
        held_periods.user_id,

        -- grain
        held_periods.entity,
        months.date_month as month,

        -- counting freelancers rather than contracts
        (
            held_periods.earlier_through_month is null
            or months.date_month > held_periods.earlier_through_month
        ) as counts_for_freelancer

    from held_periods
    inner join months
        on held_periods.start_month <= months.date_month
        and held_periods.through_month >= months.date_month

)

{{ changed_months_only('final', 'month') }}
