with

app_job_contracts as (

    select * from {{ ref('app__job_contracts') }}

),

numbered as (

    select
        app_job_contracts.*,
        row_number() over (
            partition by user_id
            order by start_date, job_contract_id
        ) as contract_number,
        count(*) over (partition by user_id) as freelancer_contract_count
    from app_job_contracts

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
        end_date is null as is_open,
        contract_number,
        contract_number = 1 as is_first_contract,
        contract_number = freelancer_contract_count as is_last_contract,

        -- dates
        start_date,
        end_date,
        {{ month_of('start_date') }} as start_month,
        {{ month_of('end_date') }} as end_month

    from numbered

)

select * from final
