-- A calendar covering the data: every day from January 1st of the year of the earliest contract start
-- or invoice, through December 31st of the year of the as-of date, or of the latest date in the data if
-- later.

with

job_contracts as (

    select * from {{ ref('job_contracts') }}

),

invoices as (

    select * from {{ ref('invoices') }}

),

data_dates as (

    select start_date as data_date from job_contracts
    union all
    select end_date as data_date from job_contracts
    union all
    select scheduled_end_date as data_date from job_contracts
    union all
    select issue_date as data_date from invoices
    union all
    select {{ as_of_date() }} as data_date

),

bounds as (

    select
        cast({{ dbt.date_trunc('year', 'min(data_date)') }} as date) as first_day,
        cast(
            {{ dbt.dateadd('day', -1, dbt.dateadd('year', 1, dbt.date_trunc('year', 'max(data_date)'))) }}
            as date
        ) as last_day
    from data_dates

),

days as (

    {{ day_spine(
        '(select first_day from bounds)',
        '(select last_day from bounds)'
    ) }}

),

final as (

    select
        -- the day
        date_day,

        -- its calendar
        cast(extract(year from date_day) as integer) as year,
        cast(extract(quarter from date_day) as integer) as quarter,
        cast(extract(month from date_day) as integer) as month_number,
        cast(extract(day from date_day) as integer) as day_of_month,
        {{ month_of('date_day') }} as month,
        {{ format_year_month('date_day') }} as year_month,
        date_day = {{ month_end_of('date_day') }} as is_month_end

    from days

)

select * from final
