{#
    The marts' contracts name their column types once, as DuckDB and PostgreSQL spell them
    (`text`, `integer`, `decimal(18,2)`...): `text`, not `varchar`, because on PostgreSQL that is
    the type the models' own SQL gives a string, and an incremental model whose table says
    `character varying` where its new rows say `text` fails dbt's `on_schema_change: fail`. Spark
    has no `varchar` without a length and no `text`: on Spark, dbt's `cast` (which builds the contract's empty schema query) reads them as
    `string`. The other adapters keep dbt's own `cast`.
#}
{% macro spark__cast(field, type) -%}
    {%- set spark_type = 'string' if type | trim | lower in ('varchar', 'text') else type -%}
    cast({{ field }} as {{ spark_type }})
{%- endmacro %}
