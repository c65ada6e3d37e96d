{{ config(**partition_config()) }}
-- Per team-game of the window: possessions (FGA - OREB + TOV + 0.44 FTA), pace (possessions per 48
-- minutes, from the average of both teams), offensive / defensive rating (points per 100 possessions).
with box as (
    select * from {{ ref('stg_box_scores') }}
    where game_date between {{ window_start() }} and {{ window_end() }}
),

teams as (
    select
        game_date,
        game_id,
        team_abbr,
        max(opponent_abbr) as opponent_abbr,
        max(case when is_home then 1 else 0 end) = 1 as is_home,
        sum(pts) as pts,
        sum(fga) as fga,
        sum(fta) as fta,
        sum(oreb) as oreb,
        sum(tov) as tov,
        -- in whole hundredths of a second (minutes are decimal: 34.2 = 34:12.00; the archive's 8.283 =
        -- 8:16.98): an integer sum is exact in any order, a floating-point one moved in its last bits
        -- with the order the warehouse returned the rows in (BigQuery: no set order)
        sum(cast(round(minutes * 6000) as {{ dbt.type_bigint() }})) / 6000 as team_minutes,
        sum(fga) - sum(oreb) + sum(tov) + 0.44 * sum(fta) as possessions
    from box
    group by game_date, game_id, team_abbr
)

select
    t.game_date,
    t.game_id,
    s.season,
    t.team_abbr,
    t.opponent_abbr,
    t.is_home,
    t.pts,
    o.pts as opp_pts,
    t.fga,
    t.fta,
    t.oreb,
    t.tov,
    t.team_minutes,
    t.possessions,
    o.possessions as opp_possessions,
    48 * ((t.possessions + o.possessions) / 2) / nullif(t.team_minutes / 5, 0) as pace,
    100 * t.pts / nullif(t.possessions, 0) as off_rating,
    100 * o.pts / nullif(o.possessions, 0) as def_rating,
    t.pts > o.pts as win
from teams t
join teams o on o.game_id = t.game_id and o.game_date = t.game_date and o.team_abbr = t.opponent_abbr
-- on the date too: a postponed game keeps its id when played on another date (one schedule row per date)
left join {{ ref('stg_schedule') }} s on s.game_id = t.game_id and s.game_date = t.game_date
