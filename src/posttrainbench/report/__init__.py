"""Leaderboard tables from recorded results (markdown, CSV, JSON)."""
