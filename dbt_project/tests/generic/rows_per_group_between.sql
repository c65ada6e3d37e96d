{# Row count of each group (e.g. team-game) of the run's window lies in [min_rows, max_rows]. #}
{% test rows_per_group_between(model, group_by, min_rows, max_rows) %}
select {{ group_by | join(', ') }}, count(*) as n_rows
from {{ model }}
where game_date between {{ window_start() }} and {{ window_end() }}
group by {{ group_by | join(', ') }}
having count(*) < {{ min_rows }} or count(*) > {{ max_rows }}
{% endtest %}
