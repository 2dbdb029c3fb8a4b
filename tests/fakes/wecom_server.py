"""A fake WeCom API server for tests: a threaded http.server on 127.0.0.1 that records calls.

It models the parts of the platform our client relies on: tokens (`gettoken`, expiry, 42001),
`message/send` with `enable_duplicate_check` (a repeat within the interval is accepted but not
delivered again, as WeCom does), template-card `response_code`s, webhook keys, and the directory.
Tests script failures: `fail(path, *codes)` answers the next calls with those errcodes;
`down = True` answers HTTP 503; `delay` slows every answer; `hold(path)` keeps the next request on
`path` open until `release()` (to kill a worker mid-delivery).
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    body: dict[str, Any] | None
    at: float = field(default_factory=time.monotonic)  # when it arrived (backoff checks)


class FakeWeCom:
    def __init__(self, *, token_delay: float = 0.0) -> None:
        self.calls: list[Call] = []
        self.delivered: list[dict[str, Any]] = []  # messages that reached people
        self.tokens: set[str] = set()
        self.token_fetches = 0
        self.token_delay = token_delay
        self.down = False
        self.delay = 0.0
        self._failures: dict[str, list[int]] = defaultdict(list)
        self._http_failures: dict[str, list[int]] = defaultdict(list)
        self._hold_path: str | None = None
        self._held = threading.Event()
        self._release = threading.Event()
        self._dupes: dict[str, float] = {}
        self._lock = threading.Lock()
        self._n = 0
        self.directory: dict[str, Any] = {
            "department": [{"id": 1, "name": "公司", "parentid": 0}],
            "userlist": [{"userid": "zhangsan", "name": "张三", "department": [1]}],
            "taglist": [{"tagid": 1, "tagname": "finance"}],
            "tag_users": {1: [{"userid": "zhangsan", "name": "张三"}]},
        }
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                fake._handle(self, "GET")

            def do_POST(self) -> None:
                fake._handle(self, "POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # ------------------------------------------------------------------ control

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/cgi-bin"

    def start(self) -> FakeWeCom:
        self.thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()

    def fail(self, path: str, *codes: int) -> None:
        with self._lock:
            self._failures[path].extend(codes)

    def fail_http(self, path: str, *statuses: int) -> None:
        """Answer the next calls to `path` with these HTTP statuses (e.g. 500), nothing sent."""
        with self._lock:
            self._http_failures[path].extend(statuses)

    def expire_tokens(self) -> None:
        with self._lock:
            self.tokens.clear()

    def hold(self, path: str) -> threading.Event:
        """Keep the next request to `path` open; returns an event set once it has arrived."""
        self._hold_path = path
        self._held.clear()
        self._release.clear()
        return self._held

    def release(self) -> None:
        self._release.set()

    def calls_to(self, path: str) -> list[Call]:
        return [c for c in self.calls if c.path == path]

    # ------------------------------------------------------------------ serving

    def _handle(self, req: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(req.path)
        path = parts.path.removeprefix("/cgi-bin/")
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        body = None
        length = int(req.headers.get("Content-Length") or 0)
        if length:
            body = json.loads(req.rfile.read(length).decode("utf-8"))
        with self._lock:
            self.calls.append(Call(method, path, query, body))
        if self.delay:
            time.sleep(self.delay)
        if self._hold_path == path:
            self._hold_path = None
            self._held.set()
            self._release.wait(30)
        if self.down:
            self._send(req, 503, {"error": "down"})
            return
        with self._lock:
            statuses = self._http_failures.get(path)
            status = statuses.pop(0) if statuses else None
        if status is not None:
            self._send(req, status, {"error": f"scripted HTTP {status}"})
            return
        self._send(req, 200, self._answer(path, query, body))

    def _send(self, req: BaseHTTPRequestHandler, status: int, data: dict[str, Any]) -> None:
        raw = json.dumps(data, ensure_ascii=False).encode("utf-8")
        try:
            req.send_response(status)
            req.send_header("Content-Type", "application/json")
            req.send_header("Content-Length", str(len(raw)))
            req.end_headers()
            req.wfile.write(raw)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout) or was killed

    def _answer(self, path: str, query: dict[str, str], body: dict[str, Any] | None) -> dict:
        if path == "gettoken":
            if self.token_delay:
                time.sleep(self.token_delay)
            with self._lock:
                self.token_fetches += 1
                token = f"tok-{self.token_fetches}"
                self.tokens.add(token)
            return {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200}
        with self._lock:
            scripted = self._failures.get(path)
            if scripted:
                code = scripted.pop(0)
                return {"errcode": code, "errmsg": f"scripted {code}"}
        if path == "webhook/send":
            if not query.get("key"):
                return {"errcode": 93000, "errmsg": "invalid webhook url"}
            return self._deliver(path, body or {}, dedupe=False)
        if path.startswith("aibot/"):  # the bot's response_url: the URL itself is the credential
            return self._deliver(path, body or {}, dedupe=False)
        if query.get("access_token") not in self.tokens:
            return {"errcode": 42001, "errmsg": "access_token expired"}
        if path == "message/send":
            return self._deliver(
                path, body or {}, dedupe=bool((body or {}).get("enable_duplicate_check"))
            )
        if path in ("message/update_template_card", "appchat/send"):
            return self._deliver(path, body or {}, dedupe=False)
        if path == "appchat/create":
            return {"errcode": 0, "errmsg": "ok", "chatid": (body or {}).get("chatid") or "chat1"}
        if path == "externalcontact/add_msg_template":
            return {"errcode": 0, "errmsg": "ok", "msgid": "tmpl1", "fail_list": []}
        if path == "miniprogram/jscode2session":
            if query.get("js_code") != "good-code":
                return {"errcode": 40029, "errmsg": "invalid code"}
            return {"errcode": 0, "corpid": "ww1", "userid": "zhangsan", "session_key": "sk"}
        if path == "auth/getuserinfo":
            if query.get("code") != "good-code":
                return {"errcode": 40029, "errmsg": "invalid code"}
            return {"errcode": 0, "userid": "zhangsan"}
        if path == "department/list":
            return {"errcode": 0, "department": self.directory["department"]}
        if path == "user/list":
            return {"errcode": 0, "userlist": self.directory["userlist"]}
        if path == "tag/list":
            return {"errcode": 0, "taglist": self.directory["taglist"]}
        if path == "tag/get":
            users = self.directory["tag_users"].get(int(query["tagid"]), [])
            return {"errcode": 0, "userlist": users, "partylist": [2]}
        return {"errcode": 404, "errmsg": f"unknown api {path}"}

    def _deliver(self, path: str, body: dict[str, Any], *, dedupe: bool) -> dict[str, Any]:
        with self._lock:
            self._n += 1
            answer: dict[str, Any] = {"errcode": 0, "errmsg": "ok", "msgid": f"msg-{self._n}"}
            if body.get("msgtype") == "template_card":
                answer["response_code"] = f"rc-{self._n}"
            if dedupe:
                fingerprint = json.dumps(
                    {k: v for k, v in body.items() if k != "duplicate_check_interval"},
                    sort_keys=True,
                    ensure_ascii=False,
                )
                interval = float(body.get("duplicate_check_interval", 1800))
                seen = self._dupes.get(fingerprint)
                if seen is not None and time.monotonic() - seen < interval:
                    return answer  # accepted, not delivered again
                self._dupes[fingerprint] = time.monotonic()
            self.delivered.append({"path": path, **body})
            return answer
