{#
    The as-of date of the run, as a SQL date expression.

    It comes from the dbt var `as_of_date` (ISO `YYYY-MM-DD`, e.g. `--vars '{"as_of_date": "2024-06-30"}'`
    or a unit test's overrides), else from the env var JUMP_AS_OF, which Dagster sets for each dbt
    run to the run's as-of date, else it is today: the local date of dbt's process, as Python's
    fallback (`jump_platform.settings.today`), not the database's `current_date`, which a server
    in another time zone would make another day. The value is parsed before it reaches the SQL,
    so a typo fails the compilation instead of the query.

    The env var is read only when the SQL is compiled for execution, never while dbt parses the
    project: a new date each day then leaves the parsed project as it was, so dbt parses it
    partially instead of from scratch (a changed `--vars` would force a full parse).
#}
{% macro as_of_date() -%}
    {%- set value = var('as_of_date', none) -%}
    {%- if not value and execute -%}
        {%- set value = env_var('JUMP_AS_OF', '') -%}
    {%- endif -%}
    {%- if not value -%}
        {%- set value = modules.datetime.date.today().isoformat() -%}
    {%- endif -%}
    {%- set value = value | string | trim -%}
    {%- set parsed = modules.re.fullmatch('[0-9]{4}-[0-9]{2}-[0-9]{2}', value) -%}
    {%- if not parsed -%}
        {{ exceptions.raise_compiler_error("as_of_date must be an ISO date YYYY-MM-DD, got '" ~ value ~ "'") }}
    {%- endif -%}
    {%- set checked = modules.datetime.datetime.strptime(value, '%Y-%m-%d') -%}
    cast('{{ value }}' as date)
{%- endmacro %}


{# The first day of the as-of date's month. #}
{% macro as_of_month() -%}
    {{ month_of(as_of_date()) }}
{%- endmacro %}
