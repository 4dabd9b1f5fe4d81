"""Evidence -> report: JSON, HTML, the upgrade diff and schema drift against the host.

- `collect`: the pytest plugin that observes each test's outcome and declarations (its marks), the
  operations the run's requests hit and the redacted evidence of failures, and writes ``--report DIR``
  at the end of the run (it never steers: the verdicts are ``posthog_contract.verdicts``);
- `model`: the report's data (``report.json``, described by ``schemas/report/report.json``);
- `render_html`: ``report.html``, one self-contained page;
- `diff`: ``python -m posthog_contract diff OLD.json NEW.json`` (upgrade regressions);
- `drift`: the host's own OpenAPI (``/api/schema/``) against the contract's schemas;
- `match` and `shapes`: request -> operation, a test's declarations -> matrix cells, and a read-only
  schema view.
"""
