{#
    `column_name` (a date; null passes) is a plausible date: on or after `first_day` (ISO
    `YYYY-MM-DD`, the business's first day) and at most `years_after_as_of` years after the run's
    as-of date (`as_of_date()`, read when the test compiles, like the models).
#}
{% test plausible_date(model, column_name, first_day, years_after_as_of, key_columns) %}

{%- set earliest = "cast('" ~ first_day ~ "' as date)" -%}
{%- set latest = "cast(" ~ dbt.dateadd('year', years_after_as_of, as_of_date()) ~ " as date)" -%}

{{ rows_breaking(
    model,
    key_columns,
    "(" ~ column_name ~ " is null or (" ~ column_name ~ " >= " ~ earliest ~ " and " ~ column_name ~ " <= " ~ latest ~ "))",
    {column_name: column_name, 'earliest': earliest, 'latest': latest}
) }}

{% endtest %}
