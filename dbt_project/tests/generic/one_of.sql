{#
    `column_name` holds one of `values` (or null, when `nullable`). Unlike dbt's `accepted_values`,
    one row per offending row (not per value), with its key, judged on the latest versions.
#}
{% test one_of(model, column_name, values, key_columns, nullable=false) %}

{%- set quoted = [] -%}
{%- for value in values -%}
    {%- do quoted.append("'" ~ (value | string | replace("'", "''")) ~ "'") -%}
{%- endfor -%}
{%- set holds = column_name ~ " in (" ~ quoted | join(", ") ~ ")" -%}
{%- if nullable -%}
    {%- set holds = "(" ~ column_name ~ " is null or " ~ holds ~ ")" -%}
{%- endif -%}

{{ rows_breaking(
    model,
    key_columns,
    holds,
    {'unexpected_value': "coalesce(cast(" ~ column_name ~ " as " ~ dbt.type_string() ~ "), '<null>')"}
) }}

{% endtest %}
