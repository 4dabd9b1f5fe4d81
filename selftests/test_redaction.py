"""Redaction is tested, not assumed: a canary key must vanish from every place it can travel."""

from __future__ import annotations

import base64
import gzip
import json
import time
from urllib.parse import quote, quote_plus, urlencode

import httpx
import pytest

from posthog_contract.redaction import REDACTED, Redactor, redact_everything

CANARY = "phx_CANARY0123456789abcdef"
PROJECT_CANARY = "phc_CANARYPROJECT0123456789"
UNRELATED = "phx_SOMEONEELSE0123456789"  # looks like a key, is not configured: left alone


@pytest.fixture
def redactor() -> Redactor:
    return Redactor([CANARY, PROJECT_CANARY, None, ""])


def test_text_redacts_raw_percent_encoded_and_json_escaped_forms(redactor: Redactor) -> None:
    text = f"key {CANARY}, encoded {quote(CANARY + '/', safe='')}, project {PROJECT_CANARY}"
    out = redactor.text(text)
    assert CANARY not in out and PROJECT_CANARY not in out
    assert out.count(REDACTED) == 3


def test_text_leaves_unconfigured_lookalikes_and_prose_alone(redactor: Redactor) -> None:
    text = f"event property {UNRELATED}; Basic authentication is refused; bearer tokens are fine"
    assert redactor.text(text) == text


def test_text_redacts_credential_shaped_fragments() -> None:
    out = Redactor().text(
        'curl -H "Authorization: Bearer phx_other123456" "https://h/?personal_api_key=abc123&x=1" '
        '{"api_key": "phc_zzzzzzzz", "token":"t0ken", "access_token": "keep"}'
    )
    assert "phx_other123456" not in out and "abc123" not in out and "phc_zzzzzzzz" not in out
    assert (
        "t0ken" not in out and "Bearer [REDACTED]" in out and '"access_token": "keep"' in out and "x=1" in out
    )


def test_short_or_empty_secrets_are_ignored() -> None:
    assert Redactor(["", "ab", None]).text("a b ab abc") == "a b ab abc"


def test_secrets_added_later_are_redacted(redactor: Redactor) -> None:
    redactor.add("phx_LATERKEY0123456789")
    assert "phx_LATERKEY0123456789" not in redactor.text("x phx_LATERKEY0123456789 y")
    assert "phx_LATERKEY0123456789" in redactor.secrets


def test_headers_keep_the_scheme_and_cookie_names(redactor: Redactor) -> None:
    out = redactor.headers(
        {
            "Authorization": f"Bearer {CANARY}",
            "Cookie": f"sessionid=abc123; ph_key={CANARY}",
            "Set-Cookie": "sessionid=abc123; Path=/; HttpOnly",
            "X-Api-Key": "anything",
            "X-Echo": f"you sent {CANARY}",
            "Content-Type": "application/json",
        }
    )
    assert out == {
        "Authorization": "Bearer [REDACTED]",
        "Cookie": "sessionid=[REDACTED]; ph_key=[REDACTED]",
        "Set-Cookie": "sessionid=[REDACTED]; Path=/; HttpOnly",
        "X-Api-Key": REDACTED,
        "X-Echo": "you sent [REDACTED]",
        "Content-Type": "application/json",
    }


def test_headers_from_httpx_with_repeated_names_and_a_schemeless_token(redactor: Redactor) -> None:
    headers = httpx.Headers([("authorization", CANARY), ("set-cookie", "a=1"), ("set-cookie", "b=2; Path=/")])
    out = redactor.headers(headers)
    assert out["authorization"] == REDACTED
    assert out["set-cookie"] == "a=[REDACTED], b=[REDACTED]; Path=/"


@pytest.mark.parametrize("name", ["api_key", "token", "personal_api_key", "$token", "%24token", "password"])
def test_url_redacts_sensitive_query_parameters(redactor: Redactor, name: str) -> None:
    out = redactor.url(f"https://h.example/api/x/?limit=1&{name}=somevalue&b=2#frag")
    assert out == f"https://h.example/api/x/?limit=1&{name}={REDACTED}&b=2#frag"


def test_url_redacts_secret_values_plain_and_percent_encoded(redactor: Redactor) -> None:
    nested = "https://h/?" + urlencode({"next": f"https://h/e/?personal_api_key={CANARY}&x=1"})
    plain = redactor.url(f"https://h/api/events/?distinct_id={CANARY}")
    encoded = redactor.url(nested)
    assert CANARY not in plain and CANARY not in encoded and quote(CANARY) not in encoded
    assert plain == f"https://h/api/events/?distinct_id={REDACTED}"


def test_url_redacts_a_userinfo_password(redactor: Redactor) -> None:
    assert redactor.url("https://user:s3cret@h.example/x") == f"https://user:{REDACTED}@h.example/x"


def test_json_redacts_sensitive_keys_always_and_secrets_anywhere(redactor: Redactor) -> None:
    obj = {
        "name": "dash",
        "description": f"made with {CANARY}",
        "filters": {"nested": [{"note": CANARY}, {"deep": {"x": [f"pre-{CANARY}-post"]}}]},
        "api_key": "phc_notconfigured123",
        "Token": "x1",
        "$token": PROJECT_CANARY,
        "personal_api_key_value": "v",
        "password": "hunter2",
        "api_token": "phc_otherproject1234",
        "token_unused": None,
        "unrelated": UNRELATED,
        "count": 3,
    }
    out = redactor.json(obj)
    text = json.dumps(out)
    for secret in (CANARY, PROJECT_CANARY, "phc_notconfigured123", "hunter2", "phc_otherproject1234", "x1"):
        assert secret not in text
    assert out["unrelated"] == UNRELATED and out["count"] == 3 and out["name"] == "dash"
    assert out["filters"]["nested"][1]["deep"]["x"] == [f"pre-{REDACTED}-post"]
    assert obj["password"] == "hunter2"  # the input is not mutated


def test_json_keeps_null_and_empty_sensitive_values_visible(redactor: Redactor) -> None:
    assert redactor.json({"token": None, "password": ""}) == {"token": None, "password": ""}


def test_body_json_bytes(redactor: Redactor) -> None:
    body = json.dumps({"results": [{"properties": {"echo": CANARY}}], "api_key": "abc"}).encode()
    out = redactor.body(body, "application/json; charset=utf-8")
    assert CANARY not in out and "abc" not in out
    assert json.loads(out) == {"results": [{"properties": {"echo": REDACTED}}], "api_key": REDACTED}


def test_body_json_sent_as_text_plain_like_capture_clients_do(redactor: Redactor) -> None:
    out = redactor.body(json.dumps({"api_key": PROJECT_CANARY, "event": "e"}), "text/plain")
    assert PROJECT_CANARY not in out and json.loads(out)["event"] == "e"


def test_body_gzip_json_is_decoded_then_redacted(redactor: Redactor) -> None:
    out = redactor.body(gzip.compress(json.dumps({"api_key": PROJECT_CANARY}).encode()), "application/json")
    assert out.startswith("[gzip] ") and PROJECT_CANARY not in out


def test_body_form_urlencoded(redactor: Redactor) -> None:
    body = urlencode({"name": "d", "personal_api_key": "abcdef", "note": CANARY}).encode()
    out = redactor.body(body, "application/x-www-form-urlencoded")
    assert out == f"name=d&personal_api_key={REDACTED}&note={REDACTED}"


def test_body_multipart_field(redactor: Redactor) -> None:
    body = (
        b'--b\r\nContent-Disposition: form-data; name="password"\r\n\r\nhunter2\r\n'
        b'--b\r\nContent-Disposition: form-data; name="name"\r\n\r\nkeep\r\n--b--\r\n'
    )
    out = redactor.body(body, "multipart/form-data; boundary=b")
    assert "hunter2" not in out and "keep" in out


def test_body_invalid_json_falls_back_to_text(redactor: Redactor) -> None:
    out = redactor.body("{not json " + CANARY, "application/json")
    assert out == "{not json " + REDACTED


def test_body_none_and_empty(redactor: Redactor) -> None:
    assert redactor.body(None, None) == "" and redactor.body(b"", "application/json") == ""


def test_redact_everything_is_the_one_shot_helper() -> None:
    out = redact_everything(f"Authorization: Bearer {CANARY} and again {CANARY}", [CANARY])
    assert CANARY not in out and "Bearer [REDACTED]" in out


def test_a_secret_with_reserved_characters_is_redacted_in_every_encoding() -> None:
    secret = "vendor/key+with=chars&more"
    redactor = Redactor([secret])
    url = "https://h/?" + urlencode({"q": secret}) + "&r=" + quote(secret, safe="")
    out = redactor.url(url) + redactor.text(json.dumps({"s": secret}))
    assert secret not in out and quote(secret, safe="") not in out and quote_plus(secret) not in out
    assert out.count(REDACTED) == 3


# --- by meaning, not by spelling (issue 20) ---------------------------------------------------------------


def _spellings(key: str) -> dict[str, str]:
    raw = key.encode()
    return {
        "json escapes": "".join(f"\\u{b:04x}" for b in raw),
        "json escapes mixed with raw": "".join(f"\\u{b:04X}" if i % 2 else chr(b) for i, b in enumerate(raw)),
        "json escapes, doubled": "".join(f"\\\\u{b:04x}" for b in raw),
        "python bytes escapes": "".join(f"\\x{b:02x}" for b in raw),
        "percent, every byte": "".join(f"%{b:02X}" for b in raw),
        "percent, twice": "".join(f"%25{b:02x}" for b in raw),
        "html references": "".join(f"&#{b};" if i % 2 else f"&#x{b:x};" for i, b in enumerate(raw)),
        "base64": base64.b64encode(raw).decode(),
        "base64 of Bearer <key>": base64.b64encode(b"Bearer " + raw).decode(),
        "base64url of user:<key>": base64.urlsafe_b64encode(b"user:" + raw).decode(),
        "base64 of a JSON document": base64.b64encode(json.dumps({"authorization": key}).encode()).decode(),
        "hex": raw.hex(),
    }


@pytest.mark.parametrize("spelling", sorted(_spellings(CANARY)))
def test_a_key_is_found_in_every_spelling_and_only_its_text_goes(redactor: Redactor, spelling: str) -> None:
    encoded = _spellings(CANARY)[spelling]
    out = redactor.text(f"before {encoded} after")
    assert out == f"before {REDACTED} after"


def test_spellings_of_an_unconfigured_lookalike_are_left_alone(redactor: Redactor) -> None:
    for encoded in _spellings(UNRELATED).values():
        assert redactor.text(encoded) == encoded


def test_the_key_in_a_json_body_with_escapes_and_in_a_form_body_percent_encoded(redactor: Redactor) -> None:
    escaped = '{"detail": "' + "".join(f"\\u{b:04x}" for b in CANARY.encode()) + '"}'
    assert CANARY not in redactor.body(escaped.encode(), "application/json")
    assert redactor.body(escaped.encode(), "application/json") == '{"detail": "[REDACTED]"}'
    form = "note=" + "".join(f"%{b:02x}" for b in CANARY.encode())
    assert redactor.body(form, "application/x-www-form-urlencoded") == f"note={REDACTED}"


def test_a_gzip_bomb_is_decoded_only_within_a_bound() -> None:
    bomb = gzip.compress(b"0" * 50_000_000)
    out = Redactor([CANARY]).body(bomb)
    assert out.startswith("[gzip, first 4,000,000 bytes] ") and len(out) < 4_100_000


def test_redacting_a_long_text_stays_linear() -> None:
    """A run of base64-looking characters or of escapes must not make the scan quadratic."""
    redactor = Redactor([CANARY, PROJECT_CANARY])
    started = time.perf_counter()
    redactor.text("A" * 200_000)
    redactor.text("%41" * 100_000)
    redactor.text("\\u0041" * 50_000)
    assert time.perf_counter() - started < 2
