-- The invoices, with the keys of their job contract, freelancer and merged client, and the entity of
-- their contract. Left joins: an invoice is never dropped, so totals always reconcile.
-- An invoice dated after the as-of date (issued in advance) is kept and flagged `is_after_as_of`.
-- Built by month: a run rewrites only the months whose rows changed (macros/incremental_months.sql).

{{
    config(
        materialized=materialized_by_month(),
        incremental_strategy='replace_months',
        unique_key='issue_month',
        on_schema_change='fail',
    )
}}

with

app_invoices as (

    select * from {{ ref('app__invoices') }}

),

job_contracts as (

    select * from {{ ref('job_contracts') }}

),

client_id_mapping as (

    select * from {{ ref('client_id_mapping') }}

),

final as (

    select
        -- ids
        {{ surrogate_key(['app_invoices.invoice_id']) }} as invoice_key,
        app_invoices.invoice_id,
        app_invoices.reference,
        app_invoices.job_contract_id,
        job_contracts.job_contract_key,
        job_contracts.user_id,
        job_contracts.freelancer_key,
        app_invoices.client_id,
        client_id_mapping.client_key,

        -- properties
        job_contracts.entity,

        -- amounts
        app_invoices.amount,

        -- dates
        app_invoices.issue_date,
        {{ month_of('app_invoices.issue_date') }} as issue_month,
        app_invoices.issue_date > {{ as_of_date() }} as is_after_as_of

    from app_invoices
    left join job_contracts
        on app_invoices.job_contract_id = job_contracts.job_contract_id
    left join client_id_mapping
        on app_invoices.client_id = client_id_mapping.client_id

)

{{ changed_months_only('final', 'issue_month') }}
