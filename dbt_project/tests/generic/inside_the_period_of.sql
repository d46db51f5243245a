{#
    The date `column_name` lies within the period [`start_column`, `end_column`] (an open period,
    a null end, runs forever) of the row of `table` that `reference` points to (`table`.`field`).
    Rows pointing nowhere are left to the `exists_in` test of `reference`.

    Both sides are judged on their latest version: the pairs outside their period are found among
    every version first (usually none), then kept when both the row and its parent are the latest.
#}
{% test inside_the_period_of(model, column_name, reference, table, field, start_column, end_column, key_columns) %}

{%- set parent_table = sibling_table(model, table) -%}

with

candidates as (

    select
        {{ source_row_key(key_columns, 'child') }} as offending_key,
        {% for column in key_columns -%}
        child.{{ column }},
        {% endfor -%}
        child._loaded_at,
        child._batch_id,
        child.{{ column_name }} as {{ column_name }},
        parent.{{ field }} as parent_key,
        parent._loaded_at as parent_loaded_at,
        parent._batch_id as parent_batch_id,
        parent.{{ start_column }} as period_start,
        parent.{{ end_column }} as period_end
    from {{ model }} as child
    inner join {{ parent_table }} as parent
        on parent.{{ field }} = child.{{ reference }}
    where child.{{ column_name }} < parent.{{ start_column }}
        or child.{{ column_name }} > coalesce(parent.{{ end_column }}, {{ forever() }})

),

latest_rows as (

    {{ keep_latest_versions(model, 'candidates', key_columns) }}

),

{# The same pairs, seen from the parent's side: its key and load metadata under its own names. #}
parent_candidates as (

    select
        offending_key,
        {{ column_name }},
        period_start,
        period_end,
        parent_key as {{ field }},
        parent_loaded_at as _loaded_at,
        parent_batch_id as _batch_id
    from latest_rows

),

latest_pairs as (

    {{ keep_latest_versions(parent_table, 'parent_candidates', [field]) }}

)

select
    offending_key,
    {{ column_name }},
    {{ field }} as {{ reference }},
    period_start,
    period_end
from latest_pairs

{% endtest %}
