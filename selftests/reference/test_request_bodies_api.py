"""Request bodies as DRF reads them (contract §1.1): only a body of no bytes is empty, over HTTP.

DRF's ``Request._load_stream`` treats a zero ``Content-Length`` as no body; anything else goes to the
parser, and ``json.loads`` refuses whitespace alone. A form feed sent as JSON once created a dashboard
on the reference (seed 112 of the issue-22 seed sweep): PostHog answers 400 ``parse_error``.
"""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("body", [b"\x0c", b" ", b"\n\t", b"\x0b"])
def test_a_whitespace_json_body_is_a_parse_error(api, base, expect_error, body):
    response = api.post(f"{base}/dashboards/", content=body, headers={"Content-Type": "application/json"})
    expect_error(response, 400, "parse_error")


def test_an_empty_body_is_no_data(api, base):
    response = api.post(f"{base}/dashboards/", content=b"", headers={"Content-Type": "application/json"})
    assert response.status_code == 201, response.text
    assert response.json()["name"] is None
    api.patch(f"{base}/dashboards/{response.json()['id']}/", json={"deleted": True})
