{# The game types the platform models (nba_assets/lib/game_types.py, which a test keeps equal): every
   game but preseason (game-id prefix 001) and All-Star (003) games. The raw layer keeps those, as the
   source reported them; the staging views leave them out, so no context model, feature or prediction
   counts them. A null id is kept (a line whose event the schedule did not match). #}
{% macro modeled_game(game_id) -%}
    coalesce(substr({{ game_id }}, 1, 3) not in ('001', '003'), true)
{%- endmacro %}
