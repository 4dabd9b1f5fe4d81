pytest_plugins = ["posthog_contract.plugin"]
