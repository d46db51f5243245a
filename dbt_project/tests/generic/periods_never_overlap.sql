{#
    The periods [`start_column`, `end_column`] of one `owner` never overlap (an open period, a null
    end, runs forever), so an owner has at most one open period. One row per row overlapping
    another one of its owner, with the first of those it overlaps (`overlaps_with`) and how many.

    The overlaps are found among every version first (a self-join per owner, who holds a handful
    of rows: linear in practice); only the owners found there have their latest versions compared.
#}
{% test periods_never_overlap(model, owner, start_column, end_column, key_columns) %}

{%- set this_key = source_row_key(key_columns, 'this') -%}
{%- set other_key = source_row_key(key_columns, 'other') -%}
{%- set overlapping -%}
    other.{{ owner }} = this.{{ owner }}
    and {{ other_key }} <> {{ this_key }}
    and other.{{ start_column }} <= coalesce(this.{{ end_column }}, {{ forever() }})
    and this.{{ start_column }} <= coalesce(other.{{ end_column }}, {{ forever() }})
{%- endset -%}

with

suspect_owners as (

    select distinct this.{{ owner }}
    from {{ model }} as this
    where exists (
        select 1
        from {{ model }} as other
        where {{ overlapping }}
    )

),

suspect_rows as (

    select *
    from {{ model }}
    where {{ owner }} in (select {{ owner }} from suspect_owners)

),

latest as (

    {{ latest_version('suspect_rows', key_columns, ['_loaded_at desc', '_batch_id desc']) }}

),

overlapping_rows as (

    select
        {{ this_key }} as offending_key,
        this.{{ owner }},
        this.{{ start_column }},
        this.{{ end_column }},
        min({{ other_key }}) as overlaps_with,
        count(*) as overlapped_rows
    from latest as this
    inner join latest as other
        on {{ overlapping }}
    group by
        {{ this_key }},
        this.{{ owner }},
        this.{{ start_column }},
        this.{{ end_column }}

)

select * from overlapping_rows

{% endtest %}
