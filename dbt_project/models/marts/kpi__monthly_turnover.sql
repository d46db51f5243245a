-- Turnover per month, with every month from the first invoice's month through the as-of month (or
-- the last invoice's month if later): a month without invoices shows 0 instead of being absent.

with

invoices as (

    select * from {{ ref('invoices') }}

),

months as (

    {{ turnover_month_spine('invoices') }}

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
