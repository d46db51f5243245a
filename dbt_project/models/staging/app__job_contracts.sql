with

source as (

    select * from {{ source('sources', 'app__job_contracts') }}

),

cleaned as (

    select
        -- ids
        trim(id) as job_contract_id,
        trim(user_id) as user_id,

        -- properties
        lower(trim(entity)) as entity,

        -- dates
        cast(start_date as date) as start_date,
        cast(end_date as date) as end_date,

        -- load metadata
        _batch_id,
        _loaded_at

    from source

),

latest as (

    {{ latest_version('cleaned', ['job_contract_id'], ['_loaded_at desc', '_batch_id desc']) }}

),

final as (

    select
        job_contract_id,
        user_id,
        entity,
        start_date,
        end_date,
        _batch_id,
        _loaded_at
    from latest

)

select * from final
