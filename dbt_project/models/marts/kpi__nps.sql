-- Net Promoter Score of the freelancers who answered the satisfaction survey: one row.

with

freelancers as (

    select * from {{ ref('freelancers') }}

),

counts as (

    select
        count(satisfaction_score) as respondents,
        count(case when nps_category = 'promoter' then 1 end) as promoters,
        count(case when nps_category = 'passive' then 1 end) as passives,
        count(case when nps_category = 'detractor' then 1 end) as detractors
    from freelancers

),

final as (

    select
        cast(respondents as bigint) as respondents,
        cast(promoters as bigint) as promoters,
        cast(passives as bigint) as passives,
        cast(detractors as bigint) as detractors,
        cast(
            round(100.0 * (promoters - detractors) / nullif(respondents, 0), 2)
            as decimal(5, 2)
        ) as nps
    from counts

)

select * from final
