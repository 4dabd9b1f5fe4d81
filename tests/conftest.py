"""The suite's fixtures are the plugin's: ``posthog_contract/fixtures.py`` (the run's session, its
client and paths, seeded events, the property-based run), loaded with the plugin, so a run of the
installed wheel and a run of this checkout see the same ones. Fixtures of one test module stay in
that module.
"""
