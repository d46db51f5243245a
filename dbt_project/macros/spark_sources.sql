{#
    Make the `sources` tables readable by the warehouse before a run.

    On DuckDB and PostgreSQL the loader writes them as tables: nothing to do. On Spark the loader
    writes each one as a folder of Parquet files ($JUMP_SPARK_DIR/sources/<table>/): this registers
    every such folder as the table `sources.<table>` of Spark's catalog (once), and refreshes its
    file listing, since a load may have replaced the files. Run as an `on-run-start` hook.
#}
{% macro register_sources() -%}
    {{ return(adapter.dispatch('register_sources', 'jump_platform')()) }}
{%- endmacro %}


{% macro default__register_sources() -%}
{%- endmacro %}


{% macro spark__register_sources() -%}
    {%- if execute -%}
        {%- set root = env_var('JUMP_SPARK_DIR', '../data/spark') ~ '/sources' -%}
        {#- the columns' types as declared in the sources' yml (DuckDB's names), in Spark's names -#}
        {%- set spark_types = {'varchar': 'string', 'timestamp with time zone': 'timestamp'} -%}
        {%- do run_query('create database if not exists sources') -%}
        {%- for node in graph.sources.values() if node.source_name == 'sources' -%}
            {%- if not modules.re.fullmatch('[a-z0-9_]+', node.name) -%}
                {{ exceptions.raise_compiler_error("unexpected source table name '" ~ node.name ~ "'") }}
            {%- endif -%}
            {%- set columns = [] -%}
            {%- for column in node.columns.values() -%}
                {%- do columns.append(adapter.quote(column.name) ~ ' ' ~ spark_types.get(column.data_type, column.data_type)) -%}
            {%- endfor -%}
            {#- an explicit schema: a table not loaded yet is an empty table, as on the other engines -#}
            {%- do run_query(
                'create table if not exists sources.' ~ node.name ~ ' (' ~ columns | join(', ') ~ ')'
                ~ " using parquet location '" ~ (root ~ '/' ~ node.name) | replace('\\', '\\\\') | replace("'", "\\'") ~ "'"
            ) -%}
            {%- do run_query('refresh table sources.' ~ node.name) -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}
