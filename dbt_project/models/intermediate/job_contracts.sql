-- Job contracts as of the as-of date (the rule of dbt_project/README.md, applied here once):
-- a contract that starts after the as-of date is `upcoming`; an end date after the as-of date is a
-- scheduled end, not an end: the contract is still open and its end date moves to
-- `scheduled_end_date`.

with

app_job_contracts as (

    select * from {{ ref('app__job_contracts') }}

),

as_of as (

    select
        *,
        start_date <= {{ as_of_date() }} as has_started,
        case when end_date <= {{ as_of_date() }} then end_date end as ended_on,
        case when end_date > {{ as_of_date() }} then end_date end as scheduled_end_date
    from app_job_contracts

),

numbered as (

    select
        *,
        row_number() over (
            partition by user_id
            order by start_date, job_contract_id
        ) as contract_number,
        -- contracts that have started come first in that order: the last of them is number
        -- `started_contract_count`
        count(case when has_started then 1 end) over (partition by user_id) as started_contract_count
    from as_of

),

final as (

    select
        -- ids
        {{ surrogate_key(['job_contract_id']) }} as job_contract_key,
        job_contract_id,
        {{ surrogate_key(['user_id']) }} as freelancer_key,
        user_id,

        -- properties
        entity,
        case
            when not has_started then 'upcoming'
            when ended_on is null then 'open'
            else 'ended'
        end as status,
        has_started,
        has_started and ended_on is null as is_open,
        contract_number,
        has_started and contract_number = 1 as is_first_contract,
        has_started and contract_number = started_contract_count as is_last_contract,

        -- dates
        start_date,
        ended_on as end_date,
        scheduled_end_date,
        {{ month_of('start_date') }} as start_month,
        {{ month_of('ended_on') }} as end_month

    from numbered

)

select * from final
