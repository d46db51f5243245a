with

source as (

    select * from {{ source('sources', 'app__clients') }}

),

cleaned as (

    select
        -- ids
        trim(id) as client_id,

        -- names
        trim(name) as client_name,

        -- load metadata
        _batch_id,
        _loaded_at

    from source

),

latest as (

    {{ latest_version('cleaned', ['client_id'], ['_loaded_at desc', '_batch_id desc']) }}

),

final as (

    select
        client_id,
        client_name,
        _batch_id,
        _loaded_at
    from latest

)

select * from final
