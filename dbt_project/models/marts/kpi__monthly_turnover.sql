-- Turnover per month, with every month from the first invoice's month through the as-of month (or
-- the last invoice's month if later): a month without invoices shows 0 instead of being absent.

with

invoices as (

    select * from {{ ref('invoices') }}

),

bounds as (

    select
        min(issue_month) as first_month,
        case
            when max(issue_month) > {{ as_of_month() }} then max(issue_month)
            else {{ as_of_month() }}
        end as last_month
    from invoices

),

months as (

    {{ month_spine(
        '(select first_month from bounds)',
        '(select last_month from bounds)'
    ) }}

),

monthly_invoices as (

    select
        issue_month as month,
        sum(amount) as amount
    from invoices
    group by issue_month

),

final as (

    select
        months.date_month as month,
        cast(coalesce(monthly_invoices.amount, 0) as decimal(18, 2)) as amount
    from months
    left join monthly_invoices
        on months.date_month = monthly_invoices.month

)

select * from final
