{{ config(**partition_config()) }}
-- One row per player expected to play on D, from what is known before tip-off:
--   roster: played for the team in one of its last 10 games before D, and that team is the player's
--           latest team before D; only for players without a line on D;
--   line:   has a resolved points line for a game of D. The line places him in that game (the book's event,
--           matched to the schedule), never in another one, on the team of that game he plays for, decided
--           in this order (team_source):
--             injury_report  D's injury report lists him with one of the game's two teams;
--             last_game      his team of his last box-score game before D is one of the game's teams (the
--                            resolver's team in raw.player_props, else this model's own history);
--             earlier_lines  he moved (his last team is neither): his lines since his last box-score game,
--                            for games his old team is not in, were all for games of exactly one of the
--                            two teams (a line for PHX-MEM, then one for PHX-LAC: PHX).
--           Otherwise his team is not knowable before the game (an opening-night mover or rookie whose
--           game has neither his old team nor any earlier evidence): he gets no row rather than a guessed
--           one, and the warn test covers_line_players names him. A player with a line on D never gets a
--           roster row, and a line only ever attaches to the row of its own game.
--   A roster player whom D's injury report lists with another team playing on D moves to that team.
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

-- the latest injury-report row of each player on D (report editions before tip-off); a player listed
-- twice in one edition: the first status, team and reason by name. A total order: with ties ROW_NUMBER
-- takes the first row it meets, and BigQuery reads rows in no set order (DuckDB in insertion order).
-- NULLs placed explicitly: ascending, BigQuery puts them first and DuckDB last (a row without a reason
-- won over the one with it in production only).
injuries as (
    select game_date, player_id, team_abbr, status, reason from (
        select
            game_date, player_id, team_abbr, status, reason,
            row_number() over (
                partition by game_date, player_id
                order by
                    report_time_et desc nulls last, status nulls last, team_abbr nulls last, reason nulls last
            ) as rn
        from {{ ref('stg_injury_report') }}
        where game_date between {{ window_start() }} and {{ window_end() }} and player_id is not null
    ) i
    where rn = 1
),

-- each (player, game of D) with a resolved line, and the resolver's team in that game (null: not known)
line_games as (
    select
        p.game_date,
        p.player_id,
        p.game_id,
        s.home_abbr,
        s.away_abbr,
        min(p.player_name) as book_name,
        max(case when p.team_abbr in (s.home_abbr, s.away_abbr) then p.team_abbr end) as resolver_team
    from props p
    join sched s on s.game_id = p.game_id and s.game_date = p.game_date
    group by p.game_date, p.player_id, p.game_id, s.home_abbr, s.away_abbr
),

lined as (
    select distinct game_date, player_id from line_games
),

candidate_keys as (
    select game_date, player_id from roster_candidates
    union distinct
    select game_date, player_id from lined
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
        a.prev_game_date,
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

-- lines of earlier dates (each captured before its own game, so before D) with their game's teams
earlier_lines as (
    select distinct p.game_date, p.player_id, s.home_abbr, s.away_abbr
    from {{ ref('stg_player_props') }} p
    join {{ ref('stg_schedule') }} s on s.game_id = p.game_id
    where p.game_date >= {{ history_start() }} and p.game_date < {{ window_end() }} and p.player_id is not null
),

-- for a line game of D: his earlier line games since his last box-score game that his last team is not in
-- (games after he moved), and how many of them each of D's two teams played in
earlier_teams as (
    select
        lg.game_date,
        lg.player_id,
        lg.game_id,
        count(*) as games,
        count(case when lg.home_abbr in (e.home_abbr, e.away_abbr) then 1 end) as with_home,
        count(case when lg.away_abbr in (e.home_abbr, e.away_abbr) then 1 end) as with_away
    from line_games lg
    join latest l on l.game_date = lg.game_date and l.player_id = lg.player_id
    join earlier_lines e
        on e.player_id = lg.player_id
        and e.game_date < lg.game_date
        and e.game_date > coalesce(l.prev_game_date, {{ days_before(history_start(), 1) }})
        and coalesce(l.latest_team, '') not in (e.home_abbr, e.away_abbr)
    group by lg.game_date, lg.player_id, lg.game_id
),

-- the team each line game puts the player on (null: not knowable before tip-off) and why
line_teams as (
    select
        lg.game_date,
        lg.player_id,
        lg.game_id,
        lg.book_name,
        case
            when i.team_abbr in (lg.home_abbr, lg.away_abbr) then i.team_abbr
            when lg.resolver_team is not null then lg.resolver_team
            when l.latest_team in (lg.home_abbr, lg.away_abbr) then l.latest_team
            when et.with_home = et.games and et.with_away < et.games then lg.home_abbr
            when et.with_away = et.games and et.with_home < et.games then lg.away_abbr
        end as team_abbr,
        case
            when i.team_abbr in (lg.home_abbr, lg.away_abbr) then 'injury_report'
            when lg.resolver_team is not null or l.latest_team in (lg.home_abbr, lg.away_abbr) then 'last_game'
            when et.with_home = et.games and et.with_away < et.games then 'earlier_lines'
            when et.with_away = et.games and et.with_home < et.games then 'earlier_lines'
        end as team_source
    from line_games lg
    left join injuries i on i.game_date = lg.game_date and i.player_id = lg.player_id
    left join latest l on l.game_date = lg.game_date and l.player_id = lg.player_id
    left join earlier_teams et
        on et.game_date = lg.game_date and et.player_id = lg.player_id and et.game_id = lg.game_id
),

-- a player placed by his lines: exactly one of his line games of D gives him a team
line_players as (
    select
        game_date,
        player_id,
        min(game_id) as game_id,
        min(team_abbr) as team_abbr,
        min(book_name) as book_name,
        min(team_source) as team_source
    from line_teams
    where team_abbr is not null
    group by game_date, player_id
    having count(*) = 1
),

-- a line names the game the player plays in, so it wins over a roster of another team (a trade): players
-- with a line on D get no roster row, placed or not. D's injury report moves a roster player to its team.
expected as (
    select
        lp.game_date,
        lp.player_id,
        lp.game_id,
        lp.team_abbr,
        lp.book_name,
        case when r.player_id is null then 'line' else 'both' end as expected_source,
        lp.team_source
    from line_players lp
    left join roster r
        on r.game_date = lp.game_date and r.player_id = lp.player_id and r.team_abbr = lp.team_abbr
    union all
    select
        r.game_date,
        r.player_id,
        cast(null as {{ dbt.type_string() }}) as game_id,
        coalesce(si.team_abbr, r.team_abbr) as team_abbr,
        cast(null as {{ dbt.type_string() }}) as book_name,
        'roster' as expected_source,
        case when si.team_abbr is null then 'roster' else 'injury_report' end as team_source
    from roster r
    left join lined ld on ld.game_date = r.game_date and ld.player_id = r.player_id
    left join injuries i on i.game_date = r.game_date and i.player_id = r.player_id
    left join sides si
        on si.game_date = r.game_date and si.team_abbr = i.team_abbr and i.team_abbr <> r.team_abbr
    where ld.player_id is null
),

-- each book's latest snapshot of each game, its lines' or an empty-fetch marker's (the book pulled every
-- line of the game), over all rows, resolved or not, as the predictions' current_offers reads them
book_snapshots as (
    select game_date, coalesce(game_id, event_id) as book_game, bookmaker, max(snapshot_utc) as book_latest
    from {{ ref('stg_player_props') }}
    where game_date between {{ window_start() }} and {{ window_end() }}
    group by game_date, coalesce(game_id, event_id), bookmaker
),

-- each book's latest and earliest main line (snapshots are all before tip-off). The latest counts only
-- when it is in the book's latest snapshot of the game: a line the book pulled (a player ruled out, or
-- every line of the game: its latest snapshot is then a marker) is not a current line, as in the
-- predictions' book_lines. Keyed by game: a line describes its own game only.
book_lines as (
    select
        game_date,
        game_id,
        player_id,
        bookmaker,
        max(case when latest_rn = 1 and snapshot_utc = book_latest then line end) as latest_line,
        max(case when first_rn = 1 then line end) as first_line
    from (
        select
            game_date, game_id, player_id, bookmaker, line, snapshot_utc, book_latest,
            row_number() over (
                partition by game_date, game_id, player_id, bookmaker order by snapshot_utc desc, line
            ) as latest_rn,
            row_number() over (
                partition by game_date, game_id, player_id, bookmaker order by snapshot_utc, line
            ) as first_rn
        from (
            select p.*, bs.book_latest
            from props p
            join book_snapshots bs
                on bs.game_date = p.game_date
                and bs.book_game = coalesce(p.game_id, p.event_id)
                and bs.bookmaker = p.bookmaker
        ) all_lines
        where is_main_line and game_id is not null
    ) b
    group by game_date, game_id, player_id, bookmaker
),

lines as (
    select
        game_date,
        game_id,
        player_id,
        max(consensus_line) as consensus_line,
        max(opening_line) as opening_line,
        count(latest_line) as books_count
    from (
        select
            game_date,
            game_id,
            player_id,
            latest_line,
            {{ median_over('latest_line', 'game_date, game_id, player_id') }} as consensus_line,
            {{ median_over('first_line', 'game_date, game_id, player_id') }} as opening_line
        from book_lines
    ) m
    group by game_date, game_id, player_id
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
    e.expected_source,
    e.team_source
from expected e
join sides s
    on s.game_date = e.game_date and s.team_abbr = e.team_abbr and (e.game_id is null or s.game_id = e.game_id)
left join latest l on l.game_date = e.game_date and l.player_id = e.player_id
left join side_history th on th.game_date = e.game_date and th.team_abbr = e.team_abbr
left join side_history oh on oh.game_date = e.game_date and oh.team_abbr = s.opponent_abbr
left join lines ln on ln.game_date = e.game_date and ln.game_id = s.game_id and ln.player_id = e.player_id
left join injuries i on i.game_date = e.game_date and i.player_id = e.player_id
