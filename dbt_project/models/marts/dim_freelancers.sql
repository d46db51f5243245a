with

freelancers as (

    select * from {{ ref('freelancers') }}

),

final as (

    select
        -- ids
        freelancer_key,
        user_id,

        -- identity
        first_name,
        last_name,
        email,

        -- satisfaction survey
        is_in_crm,
        satisfaction_score,
        nps_category,

        -- cohort
        first_contract_start_date,
        cohort_month

    from freelancers

)

select * from final
