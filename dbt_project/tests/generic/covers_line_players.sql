{# Every player of the run's window with a resolved line for a scheduled game (not postponed) has a row in
   the model in that game. Rows returned: the line players the model could not place, because their team
   in that game is not knowable before tip-off (see player_game_context's header): their lines get no
   prediction (skip reason no_feature_row), so the check names them instead of dropping them silently. #}
{% test covers_line_players(model, props, schedule) %}
select distinct p.game_date, p.game_id, p.player_id, p.player_name, s.home_abbr, s.away_abbr
from {{ props }} p
join {{ schedule }} s on s.game_id = p.game_id and s.game_date = p.game_date
left join {{ model }} m on m.game_date = p.game_date and m.game_id = p.game_id and m.player_id = p.player_id
where p.game_date between {{ window_start() }} and {{ window_end() }}
    and s.status <> 'postponed'
    and p.player_id is not null
    and m.player_id is null
{% endtest %}
