{#
    Date spines over dbt's portable `dbt.date_spine`.

    `dbt.date_spine` needs bounds it can evaluate on their own when the model compiles, so it cannot
    read a model's data (nor a unit test's fixtures). The spine is therefore cut from a fixed window
    (var `first_business_day`, Jump's first day, before which the contracts refuse any date, through
    `spine_years_after_as_of` years after the as-of date: a few hundred months, some twenty thousand
    days) and filtered to the bounds given as SQL expressions,
    which may be scalar subqueries on earlier CTEs.
    A bound that is null (no data) gives an empty spine.
#}

{% macro month_spine(first_month, last_month) -%}
    {{ _filtered_spine('month', first_month, last_month) }}
{%- endmacro %}


{% macro day_spine(first_day, last_day) -%}
    {{ _filtered_spine('day', first_day, last_day) }}
{%- endmacro %}


{% macro _filtered_spine(datepart, first, last) -%}
    {%- set window_start = "cast('" ~ var('first_business_day') ~ "' as date)" -%}
    {%- set window_end = "cast(" ~ dbt.dateadd('year', var('spine_years_after_as_of'), as_of_date()) ~ " as date)" -%}
    select
        cast(spine.date_{{ datepart }} as date) as date_{{ datepart }}
    from (
        {{ dbt.date_spine(datepart, window_start, window_end) }}
    ) as spine
    where cast(spine.date_{{ datepart }} as date) >= {{ first }}
        and cast(spine.date_{{ datepart }} as date) <= {{ last }}
{%- endmacro %}


{#
    The months of the turnover reports: from the first invoice's month through the as-of month, or
    through the last invoice's month if that is later (delivered extracts may hold future invoices).
    `invoices` names a relation or CTE with an `issue_month` column.
#}
{% macro turnover_month_spine(invoices) -%}
    {{ month_spine(
        '(select min(issue_month) from ' ~ invoices ~ ')',
        '(select case when max(issue_month) > ' ~ as_of_month() ~ ' then max(issue_month) else '
            ~ as_of_month() ~ ' end from ' ~ invoices ~ ')'
    ) }}
{%- endmacro %}
