"""Results: the per-trial record (``Result``), the SQLite index over a results folder, the first leaderboard."""
