{#
    References are `prefix` + digits (at most 18) and number 1, 2, 3... with no gap and no repeat,
    over the latest version of every row. One row per offending row: `malformed`, `repeated` (a
    number seen before, in order of key), or `after a gap` (the numbers missing before it are
    listed as `missing_references`; a sequence starting above 1 has a gap before its first row).
    The order of numbers against dates is not judged.
#}
{% test runs_in_sequence(model, column_name, prefix, min_digits, key_columns) %}

with

latest as (

    {{ latest_versions(model, key_columns) }}

),

numbered as (

    select
        {{ source_row_key(key_columns) }} as offending_key,
        {{ column_name }} as reference,
        case
            when {{ matches_pattern(column_name, prefix ~ '[0-9]{1,18}') }}
                then cast(substr({{ column_name }}, {{ prefix | length + 1 }}) as {{ dbt.type_bigint() }})
        end as number
    from latest

),

stepped as (

    select
        offending_key,
        reference,
        number,
        coalesce(lag(number) over (order by number, offending_key), 0) as previous_number
    from numbered
    where number is not null

),

offending as (

    select
        offending_key,
        reference,
        'malformed' as problem,
        cast(null as {{ dbt.type_string() }}) as missing_references
    from numbered
    where number is null

    union all

    select
        offending_key,
        reference,
        'repeated' as problem,
        cast(null as {{ dbt.type_string() }}) as missing_references
    from stepped
    where number = previous_number

    union all

    select
        offending_key,
        reference,
        'after a gap' as problem,
        case
            when number = previous_number + 2
                then {{ format_reference(prefix, 'previous_number + 1', min_digits) }}
            else {{ dbt.concat([
                format_reference(prefix, 'previous_number + 1', min_digits),
                "' to '",
                format_reference(prefix, 'number - 1', min_digits),
            ]) }}
        end as missing_references
    from stepped
    where number > previous_number + 1

)

select * from offending

{% endtest %}
