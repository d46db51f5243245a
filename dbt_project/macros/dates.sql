{# The first day of the month of a date expression, as a date (date_trunc may return a timestamp). #}
{% macro month_of(date_expression) -%}
    cast({{ dbt.date_trunc('month', date_expression) }} as date)
{%- endmacro %}


{# The last day of the month of a date expression, as a date. #}
{% macro month_end_of(date_expression) -%}
    {{ dbt.last_day(date_expression, 'month') }}
{%- endmacro %}


{#
    A date formatted as `YYYY/MM`, e.g. 2024/03, with portable functions only (no strftime/to_char).
#}
{% macro format_year_month(date_expression) -%}
    {{ dbt.concat([
        "cast(cast(extract(year from " ~ date_expression ~ ") as integer) as " ~ dbt.type_string() ~ ")",
        "'/'",
        "lpad(cast(cast(extract(month from " ~ date_expression ~ ") as integer) as " ~ dbt.type_string() ~ "), 2, '0')",
    ]) }}
{%- endmacro %}
