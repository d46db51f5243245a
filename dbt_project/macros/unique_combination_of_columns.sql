{#
    The SQL of the generic test `unique_combination_of_columns` (tests/generic/), per engine.
#}

{% macro default__test_unique_combination_of_columns(model, combination_of_columns) %}

select
    {{ combination_of_columns | join(',\n    ') }},
    count(*) as row_count
from {{ model }}
group by
    {{ combination_of_columns | join(',\n    ') }}
having count(*) > 1

{% endmacro %}


{#
    DuckDB's `hash(a, b, ...)` is a 64-bit hash of the combination: equal combinations (nulls
    included) get equal hashes, so every duplicate is among the rows whose hash repeats; a hash
    collision only adds a candidate, which the exact check then drops.
#}
{% macro duckdb__test_unique_combination_of_columns(model, combination_of_columns) %}

with

repeated_hashes as (

    select hash({{ combination_of_columns | join(', ') }}) as combination_hash
    from {{ model }}
    group by 1
    having count(*) > 1

),

candidates as (

    select
        {{ combination_of_columns | join(',\n        ') }}
    from {{ model }}
    where hash({{ combination_of_columns | join(', ') }}) in (select combination_hash from repeated_hashes)

)

select
    {{ combination_of_columns | join(',\n    ') }},
    count(*) as row_count
from candidates
group by
    {{ combination_of_columns | join(',\n    ') }}
having count(*) > 1

{% endmacro %}
