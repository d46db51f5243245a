{#
    Incremental models by month (dbt_project/README.md, "Incremental models").

    A model that grows with invoices or months is `incremental` where the adapter can run it that
    way (DuckDB and PostgreSQL; Spark rebuilds it as a table), keyed by its month (the strategy
    `replace_months` below). Which months a run rebuilds is read from the data itself, never from the
    batch that arrived: the model computes its rows as a full build would (`final`), fingerprints
    them month by month, and compares each month's fingerprint (row count and a sum of row hashes)
    with the same fingerprint of the table as it stands. Only the months that differ reach the
    temporary relation dbt swaps in, so the table ends up equal, row for row, to a full build:
    - a full snapshot with one new day differs in one month (and the months after it that depend
      on it: a running total, a month-over-month comparison);
    - late data (an invoice for an old month, an end date set later, a renamed freelancer, a new
      as-of date, or a change to the model's SQL) changes exactly the months whose rows it changes;
    - a month the table holds and the new rows no longer have (every invoice of it withdrawn, say)
      comes as one marker row, the month and nulls: `replace_months` deletes that month's rows and
      inserts no marker, so a model whose contract says NOT NULL (the marts) is built by month too.
    `dbt build --full-refresh` (`make run FULL_REFRESH=1`) rebuilds the tables whole.
#}

{# `incremental` where the adapter runs `replace_months` (DuckDB, PostgreSQL), else `table`. #}
{% macro materialized_by_month() -%}
    {{- return('incremental' if target.type in ('duckdb', 'postgres') else 'table') -}}
{%- endmacro %}


{#
    The last select of a model built by month: every row of `rows` (a CTE) on a full build; on an
    incremental run, the rows of the months whose fingerprint differs from the table's, and one
    marker row (the month, every other column null) for a month the table holds and `rows` lacks.
#}
{% macro changed_months_only(rows, month_column) -%}
    {#- a unit test (no `this`: it has no table) checks the rows of a full build -#}
    {%- if this and is_incremental() -%}
        {%- set columns = adapter.get_columns_in_relation(this) | map(attribute='name') | list -%}
        select
            {%- for column in columns %}
            {% if column == month_column -%}
                changed_months.{{ month_column }}
            {%- else -%}
                {{ rows }}.{{ column }}
            {%- endif %} as {{ column }}{{ ',' if not loop.last }}
            {%- endfor %}
        from (
            select
                coalesce(new_months.{{ month_column }}, current_months.{{ month_column }}) as {{ month_column }}
            from ({{ month_fingerprints(rows, month_column, columns) }}) as new_months
            full outer join ({{ month_fingerprints(this, month_column, columns) }}) as current_months
                on new_months.{{ month_column }} = current_months.{{ month_column }}
            where new_months.{{ month_column }} is null
                or current_months.{{ month_column }} is null
                or new_months.row_count <> current_months.row_count
                or new_months.fingerprint <> current_months.fingerprint
        ) as changed_months
        left join {{ rows }}
            on {{ rows }}.{{ month_column }} = changed_months.{{ month_column }}
    {%- else -%}
        select * from {{ rows }}
    {%- endif -%}
{%- endmacro %}


{# One row per month of `relation`: its month, row count and fingerprint over `columns`. #}
{% macro month_fingerprints(relation, month_column, columns) -%}
    select
        {{ month_column }},
        count(*) as row_count,
        {{ rows_fingerprint(columns) }} as fingerprint
    from {{ relation }}
    group by {{ month_column }}
{%- endmacro %}


{#
    An aggregate that does not depend on the rows' order: the sum of a 64-bit (60 on PostgreSQL)
    hash of each row's columns. Two sets of rows with the same count and the same sum are taken as
    equal; a collision would leave one month stale, with odds of about 2^-60 per changed month.
#}
{% macro rows_fingerprint(columns) -%}
    {{ return(adapter.dispatch('rows_fingerprint', 'jump_platform')(columns)) }}
{%- endmacro %}

{% macro duckdb__rows_fingerprint(columns) -%}
    sum(hash({{ columns | join(', ') }}))
{%- endmacro %}

{% macro default__rows_fingerprint(columns) -%}
    sum(cast(cast('x' || substr(md5(cast(row({{ columns | join(', ') }}) as text)), 1, 15) as bit(60)) as bigint))
{%- endmacro %}


{#
    The incremental strategy of the models built by month (`incremental_strategy='replace_months'`,
    `unique_key` the month column): dbt's delete+insert, by month, except that the marker rows of
    `changed_months_only` (every column but the month null; no real row is, each model has a
    non-null column besides its month) delete their month and are not inserted. A custom strategy
    (dbt's `get_incremental_<name>_sql`), so it runs on any adapter with temporary tables: the
    temporary relation has no constraints, the table keeps its contract's.
#}
{% macro get_incremental_replace_months_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set source = arg_dict['temp_relation'] -%}
    {%- set month_column = arg_dict['unique_key'] -%}
    {%- set columns = arg_dict['dest_columns'] | map(attribute='name') | list -%}
    {%- set others = columns | reject('equalto', month_column) | list -%}
    delete from {{ target }}
    where {{ month_column }} in (select {{ month_column }} from {{ source }});

    insert into {{ target }} ({{ get_quoted_csv(columns) }})
    select {{ get_quoted_csv(columns) }}
    from {{ source }}
    where not ({% for column in others %}{{ adapter.quote(column) }} is null{{ ' and ' if not loop.last }}{% endfor %})
{%- endmacro %}
