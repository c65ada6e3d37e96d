{# Every game of the run's window in `schedule` (not postponed; only final ones when only_final) has rows
   in the model. With require_history, games whose teams have no earlier box score in `box_scores` (the
   first dates of an archive: no roster is knowable before them) are left out. #}
{% test covers_scheduled_games(model, schedule, only_final=false, require_history=false, box_scores=none) %}
select s.game_id, s.game_date
from {{ schedule }} s
left join (select distinct game_id from {{ model }}) m on m.game_id = s.game_id
where s.game_date between {{ window_start() }} and {{ window_end() }}
    and s.status <> 'postponed'
    {% if only_final %}and s.status = 'final'{% endif %}
    {% if require_history %}
    and exists (
        select 1 from {{ box_scores }} b
        where b.team_abbr in (s.home_abbr, s.away_abbr) and b.game_date < s.game_date
    )
    {% endif %}
    and m.game_id is null
{% endtest %}
