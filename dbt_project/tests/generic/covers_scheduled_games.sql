{# Every game of the run's window in `schedule` (not postponed; only final ones when only_final) has rows
   in the model. With require_history, games whose teams have no earlier box score in `box_scores` (the
   first dates of an archive: no roster is knowable before them) are left out. The model's rows count on
   the game's date only: a postponed game keeps its id when it is played on another date, and rows of
   its first date (built before it was postponed) do not cover it on the date it is played. #}
{% test covers_scheduled_games(model, schedule, only_final=false, require_history=false, box_scores=none) %}
{#- The history condition is a join on each team's first box-score date, not a correlated EXISTS with an
    OR of equalities: BigQuery refuses correlated subqueries it cannot turn into a join. -#}
{% if require_history %}
with first_box as (
    select team_abbr, min(game_date) as first_date from {{ box_scores }} group by team_abbr
)
{% endif %}
select s.game_id, s.game_date
from {{ schedule }} s
left join (select distinct game_id, game_date from {{ model }}) m
    on m.game_id = s.game_id and m.game_date = s.game_date
{% if require_history %}
left join first_box h on h.team_abbr = s.home_abbr
left join first_box a on a.team_abbr = s.away_abbr
{% endif %}
where s.game_date between {{ window_start() }} and {{ window_end() }}
    and s.status <> 'postponed'
    {% if only_final %}and s.status = 'final'{% endif %}
    {% if require_history %}and (h.first_date < s.game_date or a.first_date < s.game_date){% endif %}
    and m.game_id is null
{% endtest %}
