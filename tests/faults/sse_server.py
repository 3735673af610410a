"""A real OpenAI-style chat server for the fault tests: HTTP/1.1, chunked SSE, on loopback.

Each request streams "Word 1. Word 2. …" (one sentence a chunk, every `delay_s`), ending
with a finish reason and ``[DONE]`` after `sentences` of them, or never (None). `hold` holds
a stream after that many sentences until `release()`: a test can kill the chat at a known
point. The chat reaches it through `server.url`, in this process (Pilot) or another one.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class SSEServer:
    def __init__(
        self,
        *,
        sentences: int | None = 6,
        delay_s: float = 0.02,
        hold: int | None = None,
        word: str = "Word",
    ) -> None:
        self.sentences = sentences
        self.delay_s = delay_s
        self.hold = hold
        self.word = word
        self.requests: list[dict[str, Any]] = []
        self._released = threading.Event()
        self._held = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def __enter__(self) -> SSEServer:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._released.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def release(self) -> None:
        """Let held streams go on."""
        self._released.set()

    def wait_held(self, timeout: float = 30.0) -> bool:
        """True once a stream reached `hold` sentences."""
        return self._held.wait(timeout)

    def text(self, n: int) -> str:
        """What the first `n` sentences of a reply say."""
        return "".join(f"{self.word} {i}. " for i in range(1, n + 1))

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # /health and /v1/models: up
                body = b'{"data": [{"id": "companion"}]}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _chunk(self, payload: dict[str, Any] | str) -> None:
                text = payload if isinstance(payload, str) else json.dumps(payload)
                data = f"data: {text}\n\n".encode()
                self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                server.requests.append(json.loads(self.rfile.read(length) or b"{}"))
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                i = 0
                try:
                    while server.sentences is None or i < server.sentences:
                        i += 1
                        delta = {"content": f"{server.word} {i}. "}
                        self._chunk({"choices": [{"index": 0, "delta": delta}]})
                        if server.hold is not None and i == server.hold:
                            server._held.set()
                            server._released.wait()
                        time.sleep(server.delay_s)
                    self._chunk({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
                    self._chunk("[DONE]")
                    self.wfile.write(b"0\r\n\r\n")
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client went away (stopped, or killed)

        return Handler
