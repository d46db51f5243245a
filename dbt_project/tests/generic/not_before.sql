{# `column_name` is not before `other_column` on the same row (a null value passes), e.g. a period's
   end is not before its start. #}
{% test not_before(model, column_name, other_column, key_columns) %}

{{ rows_breaking(
    model,
    key_columns,
    "(" ~ column_name ~ " is null or " ~ column_name ~ " >= " ~ other_column ~ ")",
    {other_column: other_column, column_name: column_name}
) }}

{% endtest %}
