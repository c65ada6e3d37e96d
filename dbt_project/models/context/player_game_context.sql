{{ config(**partition_config()) }}
-- One row per player expected to play on D, from what is known before tip-off:
--   roster: played for the team in one of its last 10 games before D, and that team is the player's
--           latest team before D;
--   line:   has a resolved points line for D whose team is one of the game's two teams.
-- Box scores are read strictly before D (history_days back); D's own box score never is.
with sched as (
    select * from {{ ref('stg_schedule') }}
    where game_date between {{ window_start() }} and {{ window_end() }} and status <> 'postponed'
),

sides as (
    select game_date, game_id, home_abbr as team_abbr, away_abbr as opponent_abbr, true as is_home, tipoff_utc
    from sched
    union all
    select game_date, game_id, away_abbr as team_abbr, home_abbr as opponent_abbr, false as is_home, tipoff_utc
    from sched
),

hist as (
    select game_date, team_abbr, player_id, player_name, played
    from {{ ref('stg_box_scores') }}
    where game_date between {{ history_start() }} and {{ window_end() }}
),

team_games as (
    select team_abbr, game_date, row_number() over (partition by team_abbr order by game_date) as team_game_seq
    from (select distinct team_abbr, game_date from hist) g
),

-- for each side on D: its games before D (inside the look-back) and the latest one
side_history as (
    select
        s.game_date,
        s.team_abbr,
        max(tg.team_game_seq) as last_seq,
        max(tg.game_date) as last_team_game
    from sides s
    join team_games tg
        on tg.team_abbr = s.team_abbr
        and tg.game_date < s.game_date
        and tg.game_date >= {{ days_before('s.game_date', history_days() | int) }}
    group by s.game_date, s.team_abbr
),

roster_candidates as (
    select distinct sh.game_date, sh.team_abbr, h.player_id
    from side_history sh
    join team_games tg
        on tg.team_abbr = sh.team_abbr
        and tg.team_game_seq > sh.last_seq - 10
        and tg.team_game_seq <= sh.last_seq
        and tg.game_date >= {{ days_before('sh.game_date', history_days() | int) }}
    join hist h on h.team_abbr = tg.team_abbr and h.game_date = tg.game_date and h.played
),

props as (
    select * from {{ ref('stg_player_props') }}
    where game_date between {{ window_start() }} and {{ window_end() }} and player_id is not null
),

line_players as (
    select p.game_date, p.player_id, min(s.team_abbr) as team_abbr, min(p.player_name) as book_name
    from props p
    join sides s on s.game_id = p.game_id and s.team_abbr = p.team_abbr
    group by p.game_date, p.player_id
),

candidate_keys as (
    select game_date, player_id from roster_candidates
    union distinct
    select game_date, player_id from line_players
),

-- each candidate's latest box-score row and latest game with minutes before D: one ordered pass per
-- player over history rows and D rows (D rows sort before history rows of the same date)
events as (
    select player_id, game_date, 0 as is_target, played from hist
    union all
    select player_id, game_date, 1 as is_target, false as played from candidate_keys
),

as_of as (
    select player_id, game_date, prev_game_date, prev_played_date from (
        select
            player_id,
            game_date,
            is_target,
            max(case when is_target = 0 then game_date end) over w as prev_game_date,
            max(case when is_target = 0 and played then game_date end) over w as prev_played_date
        from events
        window w as (
            partition by player_id order by game_date, is_target desc
            rows between unbounded preceding and 1 preceding
        )
    ) e
    where is_target = 1
),

latest as (
    select
        a.game_date,
        a.player_id,
        h.team_abbr as latest_team,
        h.player_name as latest_name,
        case
            when a.prev_played_date >= {{ days_before('a.game_date', history_days() | int) }}
                then a.prev_played_date
        end as last_played_date
    from as_of a
    left join hist h
        on h.player_id = a.player_id
        and h.game_date = a.prev_game_date
        and a.prev_game_date >= {{ days_before('a.game_date', history_days() | int) }}
),

roster as (
    select r.game_date, r.team_abbr, r.player_id
    from roster_candidates r
    join latest l on l.game_date = r.game_date and l.player_id = r.player_id and l.latest_team = r.team_abbr
),

-- a line names the player's current team, so it wins over a roster of another team (a trade)
expected as (
    select
        coalesce(lp.game_date, r.game_date) as game_date,
        coalesce(lp.player_id, r.player_id) as player_id,
        coalesce(lp.team_abbr, r.team_abbr) as team_abbr,
        lp.book_name,
        case
            when lp.player_id is null then 'roster'
            when r.player_id is null or r.team_abbr <> lp.team_abbr then 'line'
            else 'both'
        end as expected_source
    from line_players lp
    full outer join roster r on r.game_date = lp.game_date and r.player_id = lp.player_id
),

-- each book's latest and earliest main line (snapshots are all before tip-off). The latest counts only
-- when it is in the book's latest snapshot of the game: a line the book pulled (a player ruled out) is
-- not a current line, as in the predictions' book_lines.
book_lines as (
    select
        game_date,
        player_id,
        bookmaker,
        max(case when latest_rn = 1 and snapshot_utc = book_latest then line end) as latest_line,
        max(case when first_rn = 1 then line end) as first_line
    from (
        select
            game_date, player_id, bookmaker, line, snapshot_utc, book_latest,
            row_number() over (partition by game_date, player_id, bookmaker order by snapshot_utc desc, line) as latest_rn,
            row_number() over (partition by game_date, player_id, bookmaker order by snapshot_utc, line) as first_rn
        from (
            select
                *,
                max(snapshot_utc) over (
                    partition by game_date, coalesce(game_id, event_id), bookmaker
                ) as book_latest
            from props
        ) all_lines
        where is_main_line
    ) b
    group by game_date, player_id, bookmaker
),

lines as (
    select
        game_date,
        player_id,
        max(consensus_line) as consensus_line,
        max(opening_line) as opening_line,
        count(latest_line) as books_count
    from (
        select
            game_date,
            player_id,
            latest_line,
            {{ median_over('latest_line', 'game_date, player_id') }} as consensus_line,
            {{ median_over('first_line', 'game_date, player_id') }} as opening_line
        from book_lines
    ) m
    group by game_date, player_id
),

injuries as (
    select game_date, player_id, status, reason from (
        select
            game_date, player_id, status, reason,
            row_number() over (partition by game_date, player_id order by report_time_et desc, status) as rn
        from {{ ref('stg_injury_report') }}
        where game_date between {{ window_start() }} and {{ window_end() }} and player_id is not null
    ) i
    where rn = 1
)

select
    e.game_date,
    s.game_id,
    e.player_id,
    coalesce(l.latest_name, e.book_name) as player_name,
    e.team_abbr,
    s.opponent_abbr,
    s.is_home,
    s.tipoff_utc,
    {{ dbt.datediff('l.last_played_date', 'e.game_date', 'day') }} as rest_days,
    coalesce({{ dbt.datediff('l.last_played_date', 'e.game_date', 'day') }} = 1, false) as is_back_to_back,
    {{ dbt.datediff('th.last_team_game', 'e.game_date', 'day') }} as team_rest_days,
    {{ dbt.datediff('oh.last_team_game', 'e.game_date', 'day') }} as opponent_rest_days,
    i.status as injury_status,
    i.reason as injury_reason,
    ln.consensus_line is not null as has_line,
    ln.consensus_line,
    ln.opening_line,
    ln.consensus_line - ln.opening_line as line_move,
    coalesce(ln.books_count, 0) as books_count,
    e.expected_source
from expected e
join sides s on s.game_date = e.game_date and s.team_abbr = e.team_abbr
left join latest l on l.game_date = e.game_date and l.player_id = e.player_id
left join side_history th on th.game_date = e.game_date and th.team_abbr = e.team_abbr
left join side_history oh on oh.game_date = e.game_date and oh.team_abbr = s.opponent_abbr
left join lines ln on ln.game_date = e.game_date and ln.player_id = e.player_id
left join injuries i on i.game_date = e.game_date and i.player_id = e.player_id
