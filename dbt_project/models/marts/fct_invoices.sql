with

invoices as (

    select * from {{ ref('invoices') }}

),

final as (

    select
        -- ids
        invoice_key,
        invoice_id,
        reference,

        -- dimensions
        freelancer_key,
        client_key,
        job_contract_key,
        issue_date,
        entity,

        -- amounts
        amount,

        -- as of the as-of date
        is_after_as_of

    from invoices

)

select * from final
