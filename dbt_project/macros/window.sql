{# The run's partition window (ET game dates, inclusive) and the history read before it.
   Dagster passes min_date / max_date (validated partition keys, YYYY-MM-DD) and history_days as the
   environment variables NBA_ASSETS_DBT_MIN_DATE / _MAX_DATE / _HISTORY_DAYS; without them (a plain
   `dbt build`, or --vars) the vars of dbt_project.yml / --vars apply. history_days is the look-back of
   rest days and rosters and matches the raw box-score partition mapping in Dagster.

   The values are read only when dbt executes (`execute`), never while it parses: dbt re-parses the whole
   project when --vars change, and the files whose parse read a changed env var, so a window read at
   parse time would defeat partial parsing in every run. At parse time the macros render placeholders
   (parsing only collects refs, sources and configs). #}
{% macro window_value(name) -%}
    {#- a string either way: `--vars '{min_date: 2025-01-10}'` arrives as a YAML date -#}
    {{- return(env_var('NBA_ASSETS_DBT_' ~ (name | upper), var(name)) | string) -}}
{%- endmacro %}
{% macro window_start() -%}
    {%- if execute -%} cast('{{ window_value("min_date") }}' as date) {%- else -%} cast(null as date) {%- endif -%}
{%- endmacro %}
{% macro window_end() -%}
    {%- if execute -%} cast('{{ window_value("max_date") }}' as date) {%- else -%} cast(null as date) {%- endif -%}
{%- endmacro %}
{% macro history_days() -%}
    {%- if execute -%} {{ window_value('history_days') | int }} {%- else -%} 0 {%- endif -%}
{%- endmacro %}
{% macro history_start() -%}
    cast({{ dbt.dateadd('day', -1 * (history_days() | int), window_start()) }} as date)
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
