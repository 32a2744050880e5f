"""A fake of hoistd's agent endpoints for testing hoist-agent.

It serves POST /v1/agent/{claim,heartbeat,checkpoints,logs,exit} on a
loopback port, checks the bearer token and records every request.  From a
given heartbeat on it can respond 410 (fenced) or {"action": "stop"}.  It
implements the behaviour of docs/protocol.md that the agent relies on and
nothing else.
"""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeOrchestrator:
    """A loopback HTTP server with the agent endpoints of hoistd."""

    def __init__(self, token, assignment, port=0):
        self.token = token
        self.assignment = assignment
        self.lock = threading.Lock()
        self.requests = []          # (monotonic time, path, body)
        self.log = b""              # the attempt's log as stored
        self.last_committed = -1
        self.fence_from_heartbeat = None   # 1-based heartbeat number
        self.stop_from_heartbeat = None
        self.fenced = False
        self.heartbeats = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        daemon=True)

    @property
    def url(self):
        host, port = self._server.server_address[:2]
        return "http://%s:%d" % (host, port)

    def start(self):
        self._thread.start()
        return self

    def close(self):
        self._server.shutdown()
        self._server.server_close()

    def bodies(self, path):
        """Return the bodies of the requests to path, oldest first."""
        with self.lock:
            return [body for _, p, body in self.requests if p == path]

    def paths(self):
        with self.lock:
            return [p for _, p, _ in self.requests]

    def wait_for(self, predicate, timeout):
        """Poll predicate() until it is true; return whether it became so."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(0.05)
        return predicate()

    def _route(self, path, body):
        """Return (status, response object) for one request."""
        if self.fenced:
            return 410, {"error": "the attempt token was revoked",
                         "code": "fenced"}
        if path == "/v1/agent/claim":
            return 200, self.assignment
        if path == "/v1/agent/heartbeat":
            self.heartbeats += 1
            if (self.fence_from_heartbeat is not None
                    and self.heartbeats >= self.fence_from_heartbeat):
                self.fenced = True
                return 410, {"error": "the attempt token was revoked",
                             "code": "fenced"}
            if (self.stop_from_heartbeat is not None
                    and self.heartbeats >= self.stop_from_heartbeat):
                return 200, {"action": "stop"}
            return 200, {"action": "continue"}
        if path == "/v1/agent/checkpoints":
            step = body["step"]
            if step <= self.last_committed:
                return 200, {"committed": False}
            self.last_committed = step
            return 200, {"committed": True}
        if path == "/v1/agent/logs":
            data = body["data"].encode("utf-8")
            offset = body["offset"]
            if offset > len(self.log):
                return 400, {"error": "offset %d is past the end %d"
                             % (offset, len(self.log)), "code": "invalid"}
            self.log += data[len(self.log) - offset:]
            return 200, {"next_offset": len(self.log)}
        if path == "/v1/agent/exit":
            return 200, {"ok": True}
        return 404, {"error": "no route " + path, "code": "not_found"}

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                auth = self.headers.get("Authorization", "")
                if auth != "Bearer " + fake.token:
                    self._send(401, {"error": "invalid token",
                                     "code": "unauthorized"})
                    return
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    self._send(400, {"error": "invalid JSON",
                                     "code": "invalid"})
                    return
                with fake.lock:
                    fake.requests.append((time.monotonic(), self.path, body))
                    status, reply = fake._route(self.path, body)
                self._send(status, reply)

            def _send(self, status, reply):
                data = json.dumps(reply).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler
