{#
    The Jump entities (var `entities`) as rows of one column `entity`, so that reports by entity
    list every entity, with zeros rather than gaps.
#}
{% macro entities_as_rows() -%}
    {%- for entity in var('entities') %}
    select cast('{{ entity }}' as {{ dbt.type_string() }}) as entity
    {%- if not loop.last %}
    union all
    {%- endif -%}
    {%- endfor %}
{%- endmacro %}
