{#
    A surrogate key: the md5 hash (`dbt.hash`) of the given columns cast to strings and joined with
    '-'. A null becomes a fixed marker so that (null, 'a') and ('', 'a') get different keys.
    Our own version of dbt_utils.generate_surrogate_key (dbt packages cannot be installed here).
#}
{% macro surrogate_key(columns) -%}
    {%- set fields = [] -%}
    {%- for column in columns -%}
        {%- do fields.append(
            "coalesce(cast(" ~ column ~ " as " ~ dbt.type_string() ~ "), '_jump_null_')"
        ) -%}
        {%- if not loop.last -%}
            {%- do fields.append("'-'") -%}
        {%- endif -%}
    {%- endfor -%}
    {{ dbt.hash(dbt.concat(fields)) }}
{%- endmacro %}
