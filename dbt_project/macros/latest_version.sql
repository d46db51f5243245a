{#
    Keep one row per key: the latest version, by `order_by` (a list of `column desc` items).

    Incremental deliveries append new versions of a row to the `sources` tables. This is the portable
    form of DuckDB's `qualify row_number() over (...) = 1`: a window in a subquery, then a filter.
    The result carries an extra `_version_rank` column (always 1): select the columns you need after it.
#}
{% macro latest_version(relation, key_columns, order_by) -%}
    select
        *
    from (
        select
            versions.*,
            row_number() over (
                partition by {{ key_columns | join(', ') }}
                order by {{ order_by | join(', ') }}
            ) as _version_rank
        from {{ relation }} as versions
    ) as ranked_versions
    where _version_rank = 1
{%- endmacro %}
