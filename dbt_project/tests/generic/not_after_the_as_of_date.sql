{#
    No date in `column_name` lies after the run's as-of date (`as_of_date()`: the var `as_of_date`,
    else $JUMP_AS_OF, which Dagster sets to the run's date, else today). Read when the test
    compiles, like the models: a backfill's run judges against its own date.
#}
{% test not_after_the_as_of_date(model, column_name, key_columns) %}

{{ rows_breaking(
    model,
    key_columns,
    "(" ~ column_name ~ " is null or " ~ column_name ~ " <= " ~ as_of_date() ~ ")",
    {column_name: column_name, 'as_of_date': as_of_date()}
) }}

{% endtest %}
