-- Injury report rows; report_time_et is the naive ET time of the report edition.
select
    cast(game_date as date) as game_date,
    report_time_et,
    team_abbr,
    cast(player_id as {{ dbt.type_bigint() }}) as player_id,
    player_name,
    status,
    reason
from {{ raw_table('injury_report') }}
