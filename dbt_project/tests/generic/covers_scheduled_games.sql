{# Every game of the run's window in `schedule` (not postponed; only final ones when only_final) has rows
   in the model. #}
{% test covers_scheduled_games(model, schedule, only_final=false) %}
select s.game_id, s.game_date
from {{ schedule }} s
left join (select distinct game_id from {{ model }}) m on m.game_id = s.game_id
where s.game_date between {{ window_start() }} and {{ window_end() }}
    and s.status <> 'postponed'
    {% if only_final %}and s.status = 'final'{% endif %}
    and m.game_id is null
{% endtest %}
