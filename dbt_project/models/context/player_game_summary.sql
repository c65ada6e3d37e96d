{{ config(**partition_config()) }}
-- One row per player on the box score of a game in the window, joined to the schedule, with rest and
-- workload from that player's earlier games (history_days of box scores before the window are read;
-- no row after a game reaches it).
with box as (
    select * from {{ ref('stg_box_scores') }}
    where game_date between {{ history_start() }} and {{ window_end() }}
),

with_history as (
    select
        box.*,
        -- his last date with minutes before this game's date: a range over dates, not rows, so two rows of
        -- one date (two games) see the same earlier dates in whatever order they are read
        max(case when played then game_date end) over (
            partition by player_id order by {{ day_number('game_date') }}
            range between unbounded preceding and 1 preceding
        ) as prev_played_date,
        count(case when played then 1 end) over (
            partition by player_id order by {{ day_number('game_date') }} range between 7 preceding and 1 preceding
        ) as games_last_7d
    from box
),

windowed as (
    select
        with_history.*,
        -- a previous game older than the look-back is unknown (same answer whatever the run's range)
        case
            when prev_played_date >= {{ days_before('game_date', history_days() | int) }}
                then {{ dbt.datediff('prev_played_date', 'game_date', 'day') }}
        end as rest_days
    from with_history
    where game_date between {{ window_start() }} and {{ window_end() }}
)

select
    h.game_date,
    h.game_id,
    s.season,
    s.season_type,
    h.player_id,
    h.player_name,
    h.team_abbr,
    h.opponent_abbr,
    h.is_home,
    h.starter,
    h.position,
    h.played,
    h.minutes,
    h.pts, h.fgm, h.fga, h.fg3m, h.fg3a, h.ftm, h.fta, h.oreb, h.dreb, h.reb, h.ast, h.stl, h.blk, h.tov, h.pf,
    h.plus_minus,
    h.fga + 0.44 * h.fta + h.tov as usage_events,
    h.rest_days,
    coalesce(h.rest_days = 1, false) as is_back_to_back,
    h.games_last_7d
from windowed h
-- on the date too: a postponed game keeps its id when it is played on another date, so the schedule holds
-- a row for each date (postponed, then final) and a join on the id alone doubled every player-game
left join {{ ref('stg_schedule') }} s on s.game_id = h.game_id and s.game_date = h.game_date
