{# `column_name` is at most `max_value` (a number, e.g. 1000000.00) when it is not null. #}
{% test at_most(model, column_name, max_value, key_columns) %}

{{ rows_breaking(
    model,
    key_columns,
    "(" ~ column_name ~ " is null or " ~ column_name ~ " <= " ~ max_value ~ ")",
    {'value': column_name, 'maximum': max_value}
) }}

{% endtest %}
