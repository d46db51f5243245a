-- Freelancers joining and leaving Jump, per month and entity: growth and churn, as of the as-of
-- date (dbt_project/README.md). A freelancer joins in the month their first job contract starts
-- (counted under that contract's entity) and leaves in the month their last contract ends, if no
-- later contract has started (counted under that contract's entity). A contract starting after the
-- as-of date is not there yet, and an end after it is only scheduled: it makes no one leave.
-- Every month from the first contract's start through the as-of month times every entity, zeros
-- rather than gaps.

with

job_contracts as (

    select * from {{ ref('job_contracts') }}

),

started_contracts as (

    select * from job_contracts
    where has_started

),

months as (

    {{ month_spine('(select min(start_month) from started_contracts)', as_of_month()) }}

),

entities as (

    {{ entities_as_rows() }}

),

month_entities as (

    select
        months.date_month as month,
        {{ month_end_of('months.date_month') }} as month_end_date,
        entities.entity
    from months
    cross join entities

),

joiners as (

    select
        start_month as month,
        entity,
        count(distinct user_id) as joined
    from started_contracts
    where is_first_contract
    group by
        start_month,
        entity

),

leavers as (

    -- end_date is only set once the end has come: a scheduled end is not a departure
    select
        end_month as month,
        entity,
        count(distinct user_id) as left_count
    from started_contracts
    where is_last_contract
        and end_date is not null
    group by
        end_month,
        entity

),

active as (

    select
        month_entities.month,
        month_entities.entity,
        count(distinct started_contracts.user_id) as active_at_month_end
    from month_entities
    inner join started_contracts
        on month_entities.entity = started_contracts.entity
        and month_entities.month_end_date >= started_contracts.start_date
        and (
            started_contracts.end_date is null
            or month_entities.month_end_date <= started_contracts.end_date
        )
    group by
        month_entities.month,
        month_entities.entity

),

final as (

    select
        -- grain
        month_entities.month,
        month_entities.entity,

        -- movements
        cast(coalesce(joiners.joined, 0) as bigint) as joined,
        cast(coalesce(leavers.left_count, 0) as bigint) as {{ adapter.quote('left') }},
        cast(coalesce(active.active_at_month_end, 0) as bigint) as active_at_month_end

    from month_entities
    left join joiners
        on month_entities.month = joiners.month
        and month_entities.entity = joiners.entity
    left join leavers
        on month_entities.month = leavers.month
        and month_entities.entity = leavers.entity
    left join active
        on month_entities.month = active.month
        and month_entities.entity = active.entity

)

select * from final
