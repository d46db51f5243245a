with

source as (

    select * from {{ source('sources', 'app__users') }}

),

cleaned as (

    select
        -- ids
        trim(id) as user_id,

        -- names
        trim(first_name) as first_name,
        trim(last_name) as last_name,
        lower(trim(email)) as email,

        -- load metadata
        _batch_id,
        _loaded_at

    from source

),

latest as (

    {{ latest_version('cleaned', ['user_id'], ['_loaded_at desc', '_batch_id desc']) }}

),

final as (

    select
        user_id,
        first_name,
        last_name,
        email,
        _batch_id,
        _loaded_at
    from latest

)

select * from final
