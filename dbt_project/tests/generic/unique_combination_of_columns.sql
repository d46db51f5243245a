{#
    Fails for every combination of the given columns that appears on more than one row.
    Our own version of dbt_utils.unique_combination_of_columns (dbt packages cannot be installed here).
#}
{% test unique_combination_of_columns(model, combination_of_columns) %}

select
    {{ combination_of_columns | join(',\n    ') }},
    count(*) as row_count
from {{ model }}
group by
    {{ combination_of_columns | join(',\n    ') }}
having count(*) > 1

{% endtest %}
