-- Built by issue date: a run rewrites only the days whose rows changed (macros/incremental_months.sql).

{{
    config(
        materialized=materialized_by_month(),
        incremental_strategy='replace_months',
        unique_key='issue_date',
        on_schema_change='fail',
    )
}}

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

{{ changed_months_only('final', 'issue_date') }}
