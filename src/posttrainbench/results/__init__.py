"""Results: the per-trial record (``Result``), its leaderboard view (``TrialRecord``), the SQLite index with baselines."""
