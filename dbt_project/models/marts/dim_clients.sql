with

clients as (

    select * from {{ ref('clients') }}

),

final as (

    select
        client_key,
        client_name,
        cast(app_client_count as bigint) as app_client_count
    from clients

)

select * from final
