{# A raw table as a staging view reads it: `from {{ raw_table('injury_report') }}`.

   The raw tables are created by their Dagster assets' first write, and a fresh warehouse's first run
   may read one that no run has written yet (the overnight job writes the schedule and box scores, not
   the injury report or the lines; a morning slate writes no box scores). Then the view reads an empty
   relation with the table's columns and types (models/sources.yml, equal to the Python contract
   nba_assets/lib/schemas.py by a test), so the context models see no rows instead of failing, and a
   context table first created over it gets the real columns' types.

   A view built over the empty relation must be rebuilt once the table exists: on DuckDB the context run
   rebuilds the staging views while any raw table is missing (nba_assets/lib/dbt_state.py); on BigQuery it
   rebuilds them every run. The check runs only when dbt executes (`execute`); at parse time the macro
   renders the source, so the dependency on it is recorded either way. #}
{% macro raw_table(name) -%}
    {%- set relation = source('raw', name) -%}
    {%- if execute and load_relation(relation) is none -%}
        {%- do log("raw table " ~ relation ~ " does not exist yet: " ~ this ~ " reads it as an empty relation", info=true) -%}
        ({{ empty_raw_table(name) }}) as {{ name }}
    {%- else -%}
        {{ relation }}
    {%- endif -%}
{%- endmacro %}

{# No rows, with the columns and types sources.yml declares for raw.<name>. #}
{% macro empty_raw_table(name) -%}
    {%- set node = graph.sources.get('source.' ~ project_name ~ '.raw.' ~ name) -%}
    {%- set columns = (node.columns.values() | list) if node else [] -%}
    {%- if not columns -%}
        {{ exceptions.raise_compiler_error("models/sources.yml declares no columns for raw." ~ name) }}
    {%- endif -%}
    select
    {%- for column in columns %}
        cast(null as {{ raw_column_type(column.data_type, name ~ '.' ~ column.name) }}) as {{ column.name }}{{ ',' if not loop.last }}
    {%- endfor %}
    limit 0
{%- endmacro %}

{# sources.yml's warehouse-neutral type -> the type the warehouse gives that polars type when the IO
   manager creates the table (DuckDB from Arrow; BigQuery: nba_assets/lib/storage/bigquery_io.py). #}
{% macro raw_column_type(data_type, column) -%}
    {{- return(adapter.dispatch('raw_column_type', 'nba_assets')(data_type, column)) -}}
{%- endmacro %}
{% macro default__raw_column_type(data_type, column) -%}
    {{- return(known_raw_type({
        'date': 'date', 'string': 'varchar', 'int64': 'bigint', 'float64': 'double', 'boolean': 'boolean',
        'datetime': 'timestamp', 'timestamp': 'timestamp with time zone',
    }, data_type, column)) -}}
{%- endmacro %}
{% macro bigquery__raw_column_type(data_type, column) -%}
    {{- return(known_raw_type({
        'date': 'DATE', 'string': 'STRING', 'int64': 'INT64', 'float64': 'FLOAT64', 'boolean': 'BOOL',
        'datetime': 'DATETIME', 'timestamp': 'TIMESTAMP',
    }, data_type, column)) -}}
{%- endmacro %}
{% macro known_raw_type(types, data_type, column) -%}
    {%- if data_type not in types -%}
        {{ exceptions.raise_compiler_error("models/sources.yml: raw." ~ column ~ " has data_type '" ~ data_type ~ "', not one of " ~ (types.keys() | list | join(', '))) }}
    {%- endif -%}
    {{- return(types[data_type]) -}}
{%- endmacro %}
