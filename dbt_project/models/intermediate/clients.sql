-- The clients of Jump, merged by name: one row per company, whatever the number of app ids it has.

with

client_id_mapping as (

    select * from {{ ref('client_id_mapping') }}

),

final as (

    select
        -- ids
        client_key,

        -- names (the merged ids may differ in case only: keep one spelling, deterministically)
        min(client_name) as client_name,

        -- merge
        count(*) as app_client_count

    from client_id_mapping
    group by client_key

)

select * from final
