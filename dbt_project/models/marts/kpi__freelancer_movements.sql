-- Freelancers joining and leaving Jump, per month and entity: growth and churn.
-- A freelancer joins in the month their first job contract starts (counted under that contract's
-- entity) and leaves in the month their last contract ends, if no later contract follows (counted
-- under that contract's entity). Every month from the first contract's start through the as-of month
-- (or the last contract date, if later) times every entity, zeros rather than gaps.

with

job_contracts as (

    select * from {{ ref('job_contracts') }}

),

bounds as (

    select
        min(start_month) as first_month,
        max(
            case
                when end_month > start_month then end_month
                else start_month
            end
        ) as last_contract_month
    from job_contracts

),

months as (

    {{ month_spine(
        '(select first_month from bounds)',
        '(select case when last_contract_month > ' ~ as_of_month() ~ ' then last_contract_month else ' ~ as_of_month() ~ ' end from bounds)'
    ) }}

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
    from job_contracts
    where is_first_contract
    group by
        start_month,
        entity

),

leavers as (

    select
        end_month as month,
        entity,
        count(distinct user_id) as left_count
    from job_contracts
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
        count(distinct job_contracts.user_id) as active_at_month_end
    from month_entities
    inner join job_contracts
        on month_entities.entity = job_contracts.entity
        and job_contracts.start_date <= month_entities.month_end_date
        and (
            job_contracts.end_date is null
            or job_contracts.end_date >= month_entities.month_end_date
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
