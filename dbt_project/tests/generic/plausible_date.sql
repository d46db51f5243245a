{#
    `column_name` (a date; null passes) is a plausible date: on or after `first_day` (ISO
    `YYYY-MM-DD`, the business's first day) and at most `years_after_load` years after the row was
    delivered (`_loaded_at`, which every source row carries). Measured from the delivery, not the
    run's as-of date, so a backfill judges a row as every other run does.
#}
{% test plausible_date(model, column_name, first_day, years_after_load, key_columns) %}

{%- set earliest = "cast('" ~ first_day ~ "' as date)" -%}
{%- set latest = "cast(" ~ dbt.dateadd('year', years_after_load, '_loaded_at') ~ " as date)" -%}

{{ rows_breaking(
    model,
    key_columns,
    "(" ~ column_name ~ " is null or (" ~ column_name ~ " >= " ~ earliest ~ " and " ~ column_name ~ " <= " ~ latest ~ "))",
    {column_name: column_name, 'earliest': earliest, 'latest': latest}
) }}

{% endtest %}
