"""The SendGrid transport hands its ready JSON bytes to python_http_client (``_post``): the
request on the wire is the one the client's documented path (a str body) sends."""

from __future__ import annotations

import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import orjson
import pytest
from support.apps import app_for
from support.delivery import use_sendgrid

from publisher.delivery.sendgrid_api import JSON_UTF8, SendgridTransport


class Recorder:
    """A loopback HTTP server that records each request as it arrives and answers 202."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, list[tuple[str, str]], bytes]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                recorder.requests.append((self.command, self.path, sorted(self.headers.items()), body))
                self.send_response(202)
                self.send_header("X-Message-Id", "recorded")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def recorder():
    server = Recorder()
    yield server
    server.stop()


BODIES = [
    {"personalizations": [{"to": [{"email": "a@example.org", "name": "Élodie « Lefèvre »"}]}], "subject": "Ça 🎉"},
    {"content": [{"type": "text/plain", "value": "x" * 200_000}], "headers": {"List-Id": "<l.example.org>"}},
]


@pytest.mark.parametrize("document", BODIES)
def test_the_bytes_sent_are_those_of_the_clients_str_path(config_file, clock, app, recorder, document, caplog):
    use_sendgrid(config_file, recorder.url, build_processes=1)
    application = app_for(config_file, clock, sendgrid_api_key="SG.test-key")
    transport = SendgridTransport(application)
    body = orjson.dumps(document)
    with caplog.at_level(logging.DEBUG, logger="python_http_client"):
        assert transport._post(body).status_code == 202
    transport.client.client.mail.send.post(
        request_body=body.decode("utf-8"), request_headers={"Content-Type": JSON_UTF8}, timeout=5
    )
    application.close()
    fast, library = recorder.requests
    assert fast == library
    assert fast[3] == body
    # With debug logging on, the payload is logged as its size, never its content.
    assert "a@example.org" not in caplog.text and f"<{len(body)} bytes>" in caplog.text
