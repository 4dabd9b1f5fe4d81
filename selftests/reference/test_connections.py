"""The reference server keeps an idle keep-alive connection open for a run's length.

uvicorn closes a connection idle for 5 s by default; a client that reuses it at that very moment gets
"Server disconnected without sending a response", a tool error that failed seed 87 of the issue-22
seed sweep (the suite's client sat idle while the property-based part ran). Over a raw socket.
"""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit


def _request(sock: socket.socket, host: str, key: str) -> bytes:
    sock.sendall(f"GET /api/projects/1/dashboards/?limit=1 HTTP/1.1\r\nHost: {host}\r\n"
                 f"Authorization: Bearer {key}\r\nConnection: keep-alive\r\n\r\n".encode())  # fmt: skip
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection"
        head += chunk
    headers, _, body = head.partition(b"\r\n\r\n")
    lines = headers.split(b"\r\n")
    length = int(next(line.split(b":")[1] for line in lines if line.lower().startswith(b"content-length")))
    while len(body) < length:
        body += sock.recv(65536)
    return headers.split(b"\r\n")[0]


def test_an_idle_connection_outlives_uvicorns_default_keep_alive(reference):
    parts = urlsplit(reference["base_url"])
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        assert _request(sock, parts.netloc, reference["personal_api_key"]).endswith(b"200 OK")
        time.sleep(6.5)  # past uvicorn's default timeout_keep_alive of 5 s
        assert _request(sock, parts.netloc, reference["personal_api_key"]).endswith(b"200 OK")
