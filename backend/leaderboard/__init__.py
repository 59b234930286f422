"""Leaderboards: which submission counts, visibility, cached boards, CSV, team history."""
