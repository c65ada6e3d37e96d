-- Games, typed; postponed games are kept (status says so) and dropped by the context models. Preseason
-- and All-Star games are left out (macros/game_types.sql: the raw layer keeps them, nothing models them).
select
    cast(game_date as date) as game_date,
    cast(game_id as {{ dbt.type_string() }}) as game_id,
    season,
    season_type,
    tipoff_utc,
    home_abbr,
    away_abbr,
    lower(status) as status,
    cast(home_pts as {{ dbt.type_int() }}) as home_pts,
    cast(away_pts as {{ dbt.type_int() }}) as away_pts
from {{ raw_table('schedule') }}
where game_id is not null and {{ modeled_game('game_id') }}
