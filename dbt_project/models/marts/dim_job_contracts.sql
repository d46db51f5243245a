with

job_contracts as (

    select * from {{ ref('job_contracts') }}

),

final as (

    select
        -- ids
        job_contract_key,
        job_contract_id,
        freelancer_key,

        -- properties
        entity,
        is_open,
        cast(contract_number as bigint) as contract_number,

        -- dates
        start_date,
        end_date,

        -- as of the as-of date
        scheduled_end_date,
        status

    from job_contracts

)

select * from final
