-- The freelancers: app users with their CRM satisfaction score (matched on last name, first name and
-- email) and the start of their first job contract, once it has started (as of the as-of date).

with

app_users as (

    select * from {{ ref('app__users') }}

),

crm_customers as (

    select * from {{ ref('crm__customers') }}

),

job_contracts as (

    select * from {{ ref('job_contracts') }}

),

first_contracts as (

    select
        user_id,
        min(start_date) as first_contract_start_date
    from job_contracts
    where has_started
    group by user_id

),

joined as (

    select
        app_users.user_id,
        app_users.first_name,
        app_users.last_name,
        app_users.email,
        crm_customers.email is not null as is_in_crm,
        crm_customers.satisfaction_score,
        first_contracts.first_contract_start_date
    from app_users
    left join crm_customers
        on app_users.last_name = crm_customers.last_name
        and app_users.first_name = crm_customers.first_name
        and app_users.email = crm_customers.email
    left join first_contracts
        on app_users.user_id = first_contracts.user_id

),

final as (

    select
        -- ids
        {{ surrogate_key(['user_id']) }} as freelancer_key,
        user_id,

        -- identity
        first_name,
        last_name,
        email,

        -- satisfaction survey
        is_in_crm,
        satisfaction_score,
        case
            when satisfaction_score >= 9 then 'promoter'
            when satisfaction_score >= 7 then 'passive'
            when satisfaction_score >= 0 then 'detractor'
        end as nps_category,

        -- cohort
        first_contract_start_date,
        {{ month_of('first_contract_start_date') }} as cohort_month

    from joined

)

select * from final
