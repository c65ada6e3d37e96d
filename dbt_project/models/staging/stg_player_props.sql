-- Points lines captured before tip-off (the raw layer enforces it; restated here as the contract). Lines
-- of preseason and All-Star games are left out (macros/game_types.sql); predictions PASS them with a reason.
-- Empty-fetch markers are kept (match_method 'empty_fetch': a book's snapshot of an upcoming game that held
-- no line; line, player and prices null): they end that book's earlier snapshots of the game.
select
    cast(game_date as date) as game_date,
    game_id,
    event_id,
    bookmaker,
    player_name,
    cast(player_id as {{ dbt.type_bigint() }}) as player_id,
    team_abbr,
    home_abbr,
    away_abbr,
    line,
    over_price,
    under_price,
    coalesce(is_main_line, false) as is_main_line,
    snapshot_utc,
    tipoff_utc
from {{ raw_table('player_props') }}
where (line is not null or match_method = 'empty_fetch') and snapshot_utc < tipoff_utc and {{ modeled_game('game_id') }}
