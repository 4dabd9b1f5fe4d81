"""posthog-contract: a contract-test suite for PostHog's REST API."""
