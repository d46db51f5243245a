{#
    Every value of `column_name` exists in `table`.`field` (another table of the same source
    schema, as it is now, every version), or is null when `nullable`. One row per row pointing
    nowhere, with the value it points to.
#}
{% test exists_in(model, column_name, table, field, key_columns, nullable=false) %}

{%- set parent = sibling_table(model, table) -%}

with

candidates as (

    select
        {{ source_row_key(key_columns, 'child') }} as offending_key,
        coalesce(cast(child.{{ column_name }} as {{ dbt.type_string() }}), '<null>') as missing_value,
        {% for column in key_columns -%}
        child.{{ column }},
        {% endfor -%}
        child._loaded_at,
        child._batch_id
    from {{ model }} as child
    where not exists (
        select 1
        from {{ parent }} as parent
        where parent.{{ field }} = child.{{ column_name }}
    )
    {%- if nullable %}
        and child.{{ column_name }} is not null
    {%- endif %}

),

latest as (

    {{ keep_latest_versions(model, 'candidates', key_columns) }}

)

select
    offending_key,
    missing_value
from latest

{% endtest %}
