-- One row per client id of the app, with the key of the merged client it belongs to.
-- A company entered twice in the app (two ids, one name) becomes one client: the merge key is the
-- name, trimmed and in lower case.

with

app_clients as (

    select * from {{ ref('app__clients') }}

),

final as (

    select
        -- ids
        client_id,
        {{ surrogate_key(['lower(client_name)']) }} as client_key,

        -- names
        client_name

    from app_clients

)

select * from final
