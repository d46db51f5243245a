{#
    Fails for every combination of the given columns that appears on more than one row.
    Our own version of dbt_utils.unique_combination_of_columns (dbt packages cannot be installed here).
    The grids of freelancer x month hold tens of millions of rows at scale: engines that can hash a
    row into one integer group on that hash first (a small hash table), then check the few candidate
    combinations exactly (macros/unique_combination_of_columns.sql).
#}
{% test unique_combination_of_columns(model, combination_of_columns) %}
    {{ adapter.dispatch('test_unique_combination_of_columns', 'jump_platform')(model, combination_of_columns) }}
{% endtest %}
