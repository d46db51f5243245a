-- Built by issue date: a run rewrites only the days whose rows changed (macros/incremental_months.sql).

-- A table, not built by month: its enforced contract's NOT NULL columns would refuse the marker
-- rows of a month that disappeared (macros/incremental_months.sql).
{{ config(materialized='table') }}

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
