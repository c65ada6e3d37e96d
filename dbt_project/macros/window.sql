{# The run's partition window (ET game dates, inclusive) and the history read before it.
   Dagster passes min_date / max_date from validated partition keys (YYYY-MM-DD); history_days is the
   look-back of rest days and rosters and matches the raw box-score partition mapping in Dagster. #}
{% macro window_start() -%} cast('{{ var("min_date") }}' as date) {%- endmacro %}
{% macro window_end() -%} cast('{{ var("max_date") }}' as date) {%- endmacro %}
{% macro history_days() -%} {{ var('history_days') | int }} {%- endmacro %}
{% macro history_start() -%}
    cast({{ dbt.dateadd('day', -1 * (var('history_days') | int), window_start()) }} as date)
{%- endmacro %}
{% macro days_before(col, n) -%} cast({{ dbt.dateadd('day', -1 * n, col) }} as date) {%- endmacro %}

{# A day number usable in RANGE window frames on every adapter. #}
{% macro day_number(col) -%} {{ adapter.dispatch('day_number', 'nba_assets')(col) }} {%- endmacro %}
{% macro default__day_number(col) -%} cast(date_diff('day', date '1970-01-01', {{ col }}) as integer) {%- endmacro %}
{% macro bigquery__day_number(col) -%} unix_date({{ col }}) {%- endmacro %}

{# Exact median as a window function (BigQuery has no exact median aggregate). #}
{% macro median_over(col, partition_by) -%} {{ adapter.dispatch('median_over', 'nba_assets')(col, partition_by) }} {%- endmacro %}
{% macro default__median_over(col, partition_by) -%} median({{ col }}) over (partition by {{ partition_by }}) {%- endmacro %}
{% macro bigquery__median_over(col, partition_by) -%} percentile_cont({{ col }}, 0.5) over (partition by {{ partition_by }}) {%- endmacro %}
