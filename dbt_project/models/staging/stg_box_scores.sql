-- Player box-score rows, typed; minutes are decimal minutes (0 when the player did not play). Preseason
-- and All-Star games are left out (macros/game_types.sql), so rest, workload and rosters never count them.
select
    cast(game_date as date) as game_date,
    cast(game_id as {{ dbt.type_string() }}) as game_id,
    cast(player_id as {{ dbt.type_bigint() }}) as player_id,
    player_name,
    team_abbr,
    opponent_abbr,
    coalesce(is_home, false) as is_home,
    coalesce(starter, false) as starter,
    nullif(position, '') as position,
    coalesce(played, coalesce(minutes, 0) > 0) as played,
    coalesce(minutes, 0.0) as minutes,
    pts, fgm, fga, fg3m, fg3a, ftm, fta, oreb, dreb, reb, ast, stl, blk, tov, pf,
    plus_minus,
    nullif(status_comment, '') as status_comment
from {{ raw_table('box_scores') }}
where player_id is not null and {{ modeled_game('game_id') }}
