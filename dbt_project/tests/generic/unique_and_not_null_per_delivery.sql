{#
    `columns` identify one row of the source table: no part of them is null, and no combination
    appears twice within one delivery (`_batch_id`). A later delivery may bring a new version of a
    row, so repeats across deliveries are fine (staging keeps the latest).

    One row per repeated key and delivery (`offending_rows` copies), and one per delivery holding
    null keys; the failures dbt counts are the offending rows. Repeats are found with the project's
    `unique_combination_of_columns` (which groups on DuckDB's 64-bit hash first).
#}
{% test unique_and_not_null_per_delivery(model, columns, key_columns) %}

{{ config(fail_calc='coalesce(sum(offending_rows), 0)') }}

with

keyed as (

    select * from {{ model }}
    where {% for column in columns %}{{ column }} is not null{% if not loop.last %} and {% endif %}{% endfor %}

),

repeated as (

    {{ adapter.dispatch('test_unique_combination_of_columns', 'jump_platform')('keyed', columns + ['_batch_id']) }}

),

null_keys as (

    select
        _batch_id,
        count(*) as offending_rows
    from {{ model }}
    where {% for column in columns %}{{ column }} is null{% if not loop.last %} or {% endif %}{% endfor %}
    group by _batch_id

)

select
    {{ source_row_key(columns) }} as offending_key,
    _batch_id,
    row_count as offending_rows
from repeated

union all

select
    '<null>' as offending_key,
    _batch_id,
    offending_rows
from null_keys

{% endtest %}
