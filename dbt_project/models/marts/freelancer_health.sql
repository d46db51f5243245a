-- One row per freelancer (app user) for the care team, keyed like the CRM (last name, first name,
-- email): where they stand on the as-of date, and whether they look at risk of leaving. The reverse
-- ETL sync pushes it into the operational CRM. As of the as-of date (dbt_project/README.md), read
-- from intermediate: a contract starting later is upcoming, an end date after it is only scheduled,
-- and an invoice dated after it is not counted.

with

freelancers as (

    select * from {{ ref('freelancers') }}

),

job_contracts as (

    select * from {{ ref('job_contracts') }}

),

invoices as (

    select * from {{ ref('invoices') }}

),

latest_contracts as (

    -- the latest contract started by the as-of date
    select
        user_id,
        entity,
        status,
        scheduled_end_date
    from job_contracts
    where is_last_contract

),

upcoming_contracts as (

    -- freelancers with a contract starting after the as-of date
    select distinct user_id
    from job_contracts
    where status = 'upcoming'

),

issued_invoices as (

    -- invoices issued by the as-of date: those dated after it are not facts yet
    select
        user_id,
        issue_date,
        amount
    from invoices
    where user_id is not null
        and not is_after_as_of

),

invoice_facts as (

    select
        user_id,
        max(issue_date) as last_invoice_date,
        sum(
            case
                when issue_date > cast({{ dbt.dateadd('month', -12, as_of_date()) }} as date) then amount
                else 0
            end
        ) as turnover_last_12_months
    from issued_invoices
    group by user_id

),

joined as (

    select
        freelancers.last_name,
        freelancers.first_name,
        freelancers.email,
        freelancers.user_id,
        latest_contracts.entity as current_entity,
        case
            when latest_contracts.status = 'open' then 'active'
            when latest_contracts.status = 'ended' then 'ended'
            when upcoming_contracts.user_id is not null then 'upcoming'
            else 'no_contract'
        end as contract_status,
        latest_contracts.scheduled_end_date,
        invoice_facts.last_invoice_date,
        coalesce(invoice_facts.turnover_last_12_months, 0) as turnover_last_12_months,
        freelancers.nps_category,
        -- no invoice in the last N months (var at_risk_months_without_invoice), or never invoiced
        coalesce(
            invoice_facts.last_invoice_date
            > cast({{ dbt.dateadd('month', '-' ~ at_risk_months_without_invoice(), as_of_date()) }} as date),
            false
        ) = false as has_no_recent_invoice
    from freelancers
    left join latest_contracts
        on freelancers.user_id = latest_contracts.user_id
    left join upcoming_contracts
        on freelancers.user_id = upcoming_contracts.user_id
    left join invoice_facts
        on freelancers.user_id = invoice_facts.user_id

),

final as (

    select
        -- the CRM's key
        last_name,
        first_name,
        email,

        -- app id
        user_id,

        -- contract
        current_entity,
        contract_status,
        scheduled_end_date,

        -- invoicing
        last_invoice_date,
        cast(turnover_last_12_months as decimal(18, 2)) as turnover_last_12_months,

        -- satisfaction
        nps_category,

        -- risk
        has_no_recent_invoice,
        has_no_recent_invoice or coalesce(nps_category = 'detractor', false) as is_at_risk

    from joined

)

select * from final
