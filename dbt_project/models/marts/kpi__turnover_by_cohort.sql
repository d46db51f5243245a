-- The auditor's turnover by cohort, summed per cohort, entity and month: the figures behind the
-- export turnovers_by_cohort_for_auditor, one row per cohort month, entity and month in which at
-- least one freelancer of the cohort holds a contract of the entity.

with

freelancer_entity_months as (

    select * from {{ ref('freelancer_entity_months') }}

),

final as (

    select
        -- grain
        cohort_month,
        entity,
        month,
        -- dbt's datediff renders one long line
        cast({{ dbt.datediff('cohort_month', 'month', 'month') }} as integer) as months_since_cohort,  -- noqa: LT05

        -- measures
        cast(count(distinct user_id) as bigint) as freelancers,
        cast(sum(turnover) as decimal(18, 2)) as turnover

    from freelancer_entity_months
    group by
        cohort_month,
        entity,
        month

)

select * from final
