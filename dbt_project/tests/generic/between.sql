{# `column_name` lies within [`min_value`, `max_value`] when it is not null. #}
{% test between(model, column_name, min_value, max_value, key_columns) %}

{{ rows_breaking(
    model,
    key_columns,
    "(" ~ column_name ~ " is null or " ~ column_name ~ " between " ~ min_value ~ " and " ~ max_value ~ ")",
    {'unexpected_value': column_name}
) }}

{% endtest %}
