with

source as (

    select * from {{ source('sources', 'app__invoices') }}

),

cleaned as (

    select
        -- ids
        trim(id) as invoice_id,
        trim(job_contract_id) as job_contract_id,
        trim(client_id) as client_id,
        upper(trim(reference)) as reference,

        -- amounts
        cast(amount as decimal(18, 2)) as amount,

        -- dates
        cast(issue_date as date) as issue_date,

        -- load metadata
        _batch_id,
        _loaded_at

    from source

),

latest as (

    {{ latest_version('cleaned', ['invoice_id'], ['_loaded_at desc', '_batch_id desc']) }}

),

final as (

    select
        invoice_id,
        job_contract_id,
        client_id,
        reference,
        amount,
        issue_date,
        _batch_id,
        _loaded_at
    from latest

)

select * from final
