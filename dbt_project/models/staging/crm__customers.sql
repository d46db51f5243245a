with

source as (

    select * from {{ source('sources', 'crm__customers') }}

),

cleaned as (

    select
        -- identity (the CRM has no id: names and email are its key)
        trim(last_name) as last_name,
        trim(first_name) as first_name,
        lower(trim(email)) as email,

        -- survey
        cast(satisfaction_score as integer) as satisfaction_score,

        -- load metadata
        _batch_id,
        _loaded_at

    from source

),

latest as (

    {{ latest_version('cleaned', ['last_name', 'first_name', 'email'], ['_loaded_at desc', '_batch_id desc']) }}

),

final as (

    select
        last_name,
        first_name,
        email,
        satisfaction_score,
        _batch_id,
        _loaded_at
    from latest

)

select * from final
