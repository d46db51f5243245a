{# `column_name` is greater than 0 and has at most `decimals` decimals (a null value offends too). #}
{% test positive_with_at_most_decimals(model, column_name, decimals, key_columns) %}

{{ rows_breaking(
    model,
    key_columns,
    column_name ~ " > 0 and " ~ column_name ~ " = round(" ~ column_name ~ ", " ~ decimals ~ ")",
    {'value': column_name}
) }}

{% endtest %}
