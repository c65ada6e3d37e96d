"""nba_assets: NBA player-points props prediction as a Dagster asset graph."""
