{#
    Use a model's custom schema verbatim (`staging`, `intermediate`, `marts`) instead of dbt's default
    `<target schema>_<custom schema>`: analysts query `marts.kpi__monthly_turnover`, whatever the target.

    On PostgreSQL dbt builds the build schemas, `staging__build`..., which the publish renames to
    `staging`... in one transaction (write-audit-publish, jump_platform/warehouses/postgres.py). On
    DuckDB the build is a file of its own, with the same schema names; on Spark there is no build.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}{{ build_schema_suffix() }}
    {%- endif -%}
{%- endmacro %}


{# What the build's schemas add to the published schemas' names. #}
{% macro build_schema_suffix() -%}
    {{ return(adapter.dispatch('build_schema_suffix', 'jump_platform')()) }}
{%- endmacro %}


{% macro default__build_schema_suffix() -%}
    {{ return('') }}
{%- endmacro %}


{% macro postgres__build_schema_suffix() -%}
    {{ return('__build') }}
{%- endmacro %}
