{# Incremental models of the context layer rewrite exactly the run's window of game dates.

   duckdb: strategy `window_replace` (below): delete every row with game_date in [min_date, max_date],
   then insert the new rows, in the materialization's single transaction. Unlike `delete+insert` with
   unique_key game_date, a date whose rows vanished from the source is cleared too.
   bigquery: `insert_overwrite` with static partitions = every date of the window (same semantics,
   done by one atomic MERGE); a window wider than the partition limit falls back to dynamic partitions. #}
{% macro partition_config() -%}
    {%- if target.type == 'bigquery' -%}
        {%- set start = modules.datetime.date.fromisoformat(window_value('min_date')) -%}
        {%- set stop = modules.datetime.date.fromisoformat(window_value('max_date')) -%}
        {%- set n_days = (stop - start).days + 1 -%}
        {%- set config = {
            'materialized': 'incremental',
            'incremental_strategy': 'insert_overwrite',
            'partition_by': {'field': 'game_date', 'data_type': 'date', 'granularity': 'day'},
            'on_schema_change': 'append_new_columns',
        } -%}
        {%- if n_days <= 4000 -%}
            {%- set partitions = [] -%}
            {%- for i in range(n_days) -%}
                {%- do partitions.append("date '" ~ (start + modules.datetime.timedelta(days=i)).isoformat() ~ "'") -%}
            {%- endfor -%}
            {%- do config.update({'partitions': partitions}) -%}
        {%- endif -%}
        {{ return(config) }}
    {%- else -%}
        {{ return({
            'materialized': 'incremental',
            'incremental_strategy': 'window_replace',
            'on_schema_change': 'append_new_columns',
        }) }}
    {%- endif -%}
{%- endmacro %}

{% macro get_incremental_window_replace_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set source = arg_dict['temp_relation'] -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    delete from {{ target }} where game_date between {{ window_start() }} and {{ window_end() }};
    insert into {{ target }} ({{ columns }})
    select {{ columns }} from {{ source }}
    where game_date between {{ window_start() }} and {{ window_end() }}
{%- endmacro %}
