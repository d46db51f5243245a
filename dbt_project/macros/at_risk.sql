{#
    The number of months without an invoice after which marts.freelancer_health flags a freelancer
    at risk: the dbt var `at_risk_months_without_invoice`, checked to be a whole number of at least 1
    before it reaches the SQL.
#}
{% macro at_risk_months_without_invoice() -%}
    {%- set value = var('at_risk_months_without_invoice') | string | trim -%}
    {%- if not modules.re.fullmatch('[1-9][0-9]{0,2}', value) -%}
        {{ exceptions.raise_compiler_error("at_risk_months_without_invoice must be a whole number of months from 1 to 999, got '" ~ value ~ "'") }}
    {%- endif -%}
    {{ value }}
{%- endmacro %}
