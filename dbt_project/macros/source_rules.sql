{#
    Building blocks of the generic tests on the sources (tests/generic/), the contract checks of the
    tables the loader writes. Every such test returns one row per offending row, its key first
    (`offending_key`), then what is wrong with it; Dagster reads the first rows back as the check's
    sample. A source table may hold several versions of a row (incremental deliveries append them):
    the rules judge the latest version of each key, the one staging keeps (`latest_version`).

    Column and table names come from jump_platform/sources/contracts.py, which only accepts plain
    lower-case identifiers.
#}


{# The key of a row as one string, e.g. `u1`, or `Dupont | Marie | marie@example.fr` for a composite
   key; a null part reads `<null>`. #}
{% macro source_row_key(key_columns, alias=none) -%}
    {%- set prefix = alias ~ '.' if alias else '' -%}
    {%- set parts = [] -%}
    {%- for column in key_columns -%}
        {%- do parts.append("coalesce(cast(" ~ prefix ~ column ~ " as " ~ dbt.type_string() ~ "), '<null>')") -%}
    {%- endfor -%}
    {%- if parts | length == 1 -%}
        {{ parts[0] }}
    {%- else -%}
        {%- set separated = [] -%}
        {%- for part in parts -%}
            {%- if not loop.first %}{% do separated.append("' | '") %}{% endif -%}
            {%- do separated.append(part) -%}
        {%- endfor -%}
        {{ dbt.concat(separated) }}
    {%- endif -%}
{%- endmacro %}


{# Another table of the same schema as `model` (a source table), e.g. the parent of a foreign key.
   Named through the relation rather than `source()`, so that the test stays attached to one
   source: dagster-dbt then shows it as a check of that source, which reads the other table as it
   is (an invoices-only delivery is judged against the contracts loaded before). #}
{% macro sibling_table(model, table) -%}
    {{ model.incorporate(path={"identifier": table}) }}
{%- endmacro %}


{# The date an open period ends: never. #}
{% macro forever() -%}
    cast('9999-12-31' as date)
{%- endmacro %}


{#
    Of the rows of the CTE `candidates` (which carry `model`'s key columns, `_loaded_at` and
    `_batch_id`), keep those that are the latest version of their key in `model`.

    Rules judge candidates first (the rows breaking the rule in any version, usually none) and only
    then rank the versions of those keys: a clean table costs one scan, not a window over every row.
#}
{% macro keep_latest_versions(model, candidates, key_columns) -%}
    select {{ candidates }}.*
    from {{ candidates }}
    inner join (
        select
            {{ key_columns | join(', ') }},
            _loaded_at,
            _batch_id,
            row_number() over (
                partition by {{ key_columns | join(', ') }}
                order by _loaded_at desc, _batch_id desc
            ) as version_rank
        from {{ model }}
        where {{ key_columns[0] }} in (select {{ key_columns[0] }} from {{ candidates }})
    ) as versions
        on {% for column in key_columns -%}
            versions.{{ column }} = {{ candidates }}.{{ column }} and
        {% endfor -%}
        versions._loaded_at = {{ candidates }}._loaded_at
        and versions._batch_id = {{ candidates }}._batch_id
    where versions.version_rank = 1
{%- endmacro %}


{#
    The test of a rule each row must keep on its own: the latest versions for which `holds` (a
    boolean SQL expression over the row) is not true (false or null), with `details` (a mapping of
    output column -> SQL expression) saying what is wrong.
#}
{% macro rows_breaking(model, key_columns, holds, details) %}

with

candidates as (

    select
        {{ source_row_key(key_columns) }} as offending_key,
        {% for name, expression in details.items() -%}
        {{ expression }} as {{ name }},
        {% endfor -%}
        {{ key_columns | join(', ') }},
        _loaded_at,
        _batch_id
    from {{ model }}
    where not coalesce({{ holds }}, false)

),

latest as (

    {{ keep_latest_versions(model, 'candidates', key_columns) }}

)

select
    offending_key,
    {{ details.keys() | join(',\n    ') }}
from latest

{% endmacro %}


{#
    The latest version of every row of `model`, with an extra `_version_rank` column (always 1).

    Only the keys delivered more than once need ranking: they are found by grouping on a
    fingerprint of the key (`key_fingerprint`), and the rows of the other keys pass as they are.
#}
{% macro latest_versions(model, key_columns) -%}
    select
        unversioned.*,
        1 as _version_rank
    from {{ model }} as unversioned
    where {{ key_fingerprint(key_columns, 'unversioned') }} not in (
        select {{ key_fingerprint(key_columns) }} from {{ model }} group by 1 having count(*) > 1
    )

    union all

    select * from (
        {{ latest_version(
            '(select * from ' ~ model ~ ' as several where ' ~ key_fingerprint(key_columns, 'several')
            ~ ' in (select ' ~ key_fingerprint(key_columns) ~ ' from ' ~ model ~ ' group by 1 having count(*) > 1))',
            key_columns,
            ['_loaded_at desc', '_batch_id desc']
        ) }}
    ) as versioned
{%- endmacro %}


{# A value standing for a key, never null, equal for equal keys: the key itself, as a string. #}
{% macro key_fingerprint(key_columns, alias=none) -%}
    {{ return(adapter.dispatch('key_fingerprint', 'jump_platform')(key_columns, alias)) }}
{%- endmacro %}

{% macro default__key_fingerprint(key_columns, alias=none) -%}
    {{ source_row_key(key_columns, alias) }}
{%- endmacro %}

{# DuckDB: its 64-bit `hash()` of the key, so that grouping holds 8 bytes per key rather than the
   strings (tens of millions of invoice ids). Two keys sharing a hash only get ranked for nothing. #}
{% macro duckdb__key_fingerprint(key_columns, alias=none) -%}
    {%- set prefix = alias ~ '.' if alias else '' -%}
    hash({% for column in key_columns %}{{ prefix ~ column }}{% if not loop.last %}, {% endif %}{% endfor %})
{%- endmacro %}


{# Whether `expression` matches the regular expression `pattern` as a whole. #}
{% macro matches_pattern(expression, pattern) -%}
    {{ return(adapter.dispatch('matches_pattern', 'jump_platform')(expression, pattern)) }}
{%- endmacro %}

{# PostgreSQL's POSIX match; Spark's `rlike` below. #}
{% macro default__matches_pattern(expression, pattern) -%}
    ({{ expression }} ~ '^({{ pattern }})$')
{%- endmacro %}

{% macro duckdb__matches_pattern(expression, pattern) -%}
    regexp_full_match({{ expression }}, '{{ pattern }}')
{%- endmacro %}

{% macro spark__matches_pattern(expression, pattern) -%}
    ({{ expression }} rlike '^({{ pattern }})$')
{%- endmacro %}


{# A reference from its number: `prefix` and the number, zero-padded to `min_digits` digits. #}
{% macro format_reference(prefix, number_expression, min_digits) -%}
    {%- set digits = 'cast(' ~ number_expression ~ ' as ' ~ dbt.type_string() ~ ')' -%}
    {{ dbt.concat([
        "'" ~ prefix ~ "'",
        "case when " ~ dbt.length(digits) ~ " < " ~ min_digits ~ " then lpad(" ~ digits ~ ", " ~ min_digits ~ ", '0') else " ~ digits ~ " end",
    ]) }}
{%- endmacro %}
