"""The embedded reference server: a faithful PostHog API on SQLite (never imported by the suite)."""
