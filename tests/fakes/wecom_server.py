"""A fake WeCom API server for tests: a threaded http.server on 127.0.0.1 that records calls.

It models the parts of the platform our client relies on: tokens (`gettoken`, expiry, 42001),
`message/send` with `enable_duplicate_check` (a repeat within the interval is accepted but not
delivered again, as WeCom does), template-card `response_code`s, webhook keys, and the directory.
Tests script failures: `fail(path, *codes)` answers the next calls with those errcodes;
`down = True` answers HTTP 503; `delay` slows every answer; `hold(path)` keeps the next request on
`path` open until `release()` (to kill a worker mid-delivery).

Strict: every call is checked against `tests/fakes/wecom_rules.py` (one table of what WeCom
refuses, each rule with its D: page) and refused with the documented errcode; `refusals` lists
what was refused. The stateful rules live here: a bot `response_url` must be one the fake issued
(`response_url(chat_type)`), takes one POST within 1 h; a `response_code` (issued on a card's
message/send, or registered with `issue_response_code`) works once within 72 h; a customer gets
at most 4 `add_msg_template` per natural month; an existing chatid cannot be created again.
`now` is the fake's clock (seconds; tests move it to age codes and URLs).
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes import wecom_rules
from tests.fakes.wecom_rules import Refused

RESPONSE_URL_TTL = 3600.0  # D:101138
RESPONSE_CODE_TTL = 72 * 3600.0  # D:94888
MSG_TEMPLATES_PER_MONTH = 4  # D:92135
MEDIA_TTL = 3 * 86400.0  # D:90253: a media_id lives 3 days
POLL_INTERVAL = 0.01  # serve_forever's shutdown poll (the default 0.5 s costs every test)


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
        self.now: float = time.time()
        self.refusals: list[Refused] = []
        self._response_urls: dict[str, tuple[str, float, bool]] = {}  # code: chat, issued, used
        self._response_codes: dict[str, tuple[float, bool]] = {}  # code: issued, used
        self._templates: dict[tuple[str, str], int] = defaultdict(int)  # (customer, month): n
        self._chats: set[str] = set()
        self.media: dict[str, tuple[str, str, bytes, float]] = {}  # id: kind, name, bytes, at
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
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": POLL_INTERVAL}, daemon=True
        )

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

    def response_url(self, chat_type: str = "single") -> str:
        """A bot callback's response_url, as WeCom issues it (one POST within 1 h)."""
        with self._lock:
            self._n += 1
            code = f"ru-{self._n}"
            self._response_urls[code] = (chat_type, self.now, False)
        return f"{self.base}/aibot/response?response_code={code}"

    def issue_response_code(self, code: str) -> str:
        """Register a card click's ResponseCode (as if WeCom had put it in a callback)."""
        with self._lock:
            self._response_codes[code] = (self.now, False)
        return code

    def advance(self, seconds: float) -> None:
        self.now += seconds

    # ------------------------------------------------------------------ serving

    def _handle(self, req: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(req.path)
        path = parts.path.removeprefix("/cgi-bin/")
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        body = None
        length = int(req.headers.get("Content-Length") or 0)
        ctype = req.headers.get("Content-Type") or ""
        if length and ctype.startswith("multipart/form-data"):
            body = _multipart(ctype, req.rfile.read(length))
        elif length:
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
        try:
            answer = self._answer(path, query, body)
        except Refused as exc:
            with self._lock:
                self.refusals.append(exc)
            answer = exc.answer()
        self._send(req, 200, answer)

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
            wecom_rules.check_body(path, body)
            self._check_media_id(body or {})
            return self._deliver(path, body or {}, dedupe=False)
        if path == "webhook/upload_media":
            if not query.get("key"):
                return {"errcode": 93000, "errmsg": "invalid webhook url"}
            return self._upload(query.get("type"), body or {})
        if path.startswith("aibot/"):  # the bot's response_url: the URL itself is the credential
            self._use_response_url(query.get("response_code", ""), body or {})
            return self._deliver(path, body or {}, dedupe=False)
        if query.get("access_token") not in self.tokens:
            return {"errcode": 42001, "errmsg": "access_token expired"}
        if path == "media/upload":
            return self._upload(query.get("type"), body or {})
        wecom_rules.check_body(path, body)
        self._check_media_id(body or {})
        if path == "message/send":
            return self._deliver(
                path, body or {}, dedupe=bool((body or {}).get("enable_duplicate_check"))
            )
        if path == "message/update_template_card":
            self._use_response_code(str((body or {}).get("response_code")))
            return self._deliver(path, body or {}, dedupe=False)
        if path == "appchat/send":
            return self._deliver(path, body or {}, dedupe=False)
        if path == "appchat/create":
            return self._create_chat(body or {})
        if path == "externalcontact/add_msg_template":
            return self._msg_template(body or {})
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
            if body.get("msgtype") == "template_card" and path == "message/send":
                answer["response_code"] = f"rc-{self._n}"
                self._response_codes[answer["response_code"]] = (self.now, False)
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

    # ------------------------------------------------------------------ stateful rules

    def _upload(self, kind: str | None, form: dict[str, Any]) -> dict[str, Any]:
        media = form.get("media")
        name, content = media if isinstance(media, tuple) else (None, None)
        wecom_rules.check_media_upload(kind, name, content)
        with self._lock:
            self._n += 1
            media_id = f"media-{self._n}"
            self.media[media_id] = (str(kind), str(name), bytes(content or b""), self.now)
        return {
            "errcode": 0,
            "errmsg": "ok",
            "type": kind,
            "media_id": media_id,
            "created_at": str(int(self.now)),
        }

    def _check_media_id(self, body: dict[str, Any]) -> None:
        media_id = wecom_rules.media_id_of(body)
        if media_id is None:
            return
        with self._lock:
            found = self.media.get(media_id)
        if found is None or found[0] != body.get("msgtype"):
            raise Refused(
                "media_id", f"media_id {media_id!r} was not issued for a {body.get('msgtype')}"
            )
        if self.now - found[3] > MEDIA_TTL:
            raise Refused("media_id", f"media_id {media_id!r} is older than 3 days")

    def _use_response_url(self, code: str, body: dict[str, Any]) -> None:
        with self._lock:
            issued = self._response_urls.get(code)
            if issued is None:
                raise Refused("response_url_issued", f"unknown response_url {code!r}")
            chat_type, at, used = issued
            if used:
                raise Refused("response_url_once")
            if self.now - at > RESPONSE_URL_TTL:
                raise Refused("response_url_1h")
            wecom_rules.check_response_url(body, chat_type=chat_type)
            self._response_urls[code] = (chat_type, at, True)

    def _use_response_code(self, code: str) -> None:
        with self._lock:
            issued = self._response_codes.get(code)
            if issued is None:
                raise Refused("response_code_issued", f"unknown response_code {code!r}")
            at, used = issued
            if used:
                raise Refused("response_code_once")
            if self.now - at > RESPONSE_CODE_TTL:
                raise Refused("response_code_72h")
            self._response_codes[code] = (at, True)

    def _create_chat(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            chatid = str(body.get("chatid") or f"chat{len(self._chats) + 1}")
            if chatid in self._chats:
                raise Refused("appchat_chatid_taken", f"chatid {chatid!r}")
            self._chats.add(chatid)
        return {"errcode": 0, "errmsg": "ok", "chatid": chatid}

    def _msg_template(self, body: dict[str, Any]) -> dict[str, Any]:
        month = datetime.fromtimestamp(self.now, UTC).strftime("%Y-%m")
        fail_list: list[str] = []
        with self._lock:
            # each customer and each customer group counts (D:92135)
            targets = [*(body.get("external_userid") or []), *(body.get("chat_id_list") or [])]
            for customer in targets:
                if self._templates[(customer, month)] >= MSG_TEMPLATES_PER_MONTH:
                    fail_list.append(customer)  # D:92135: refused customers come back here
                else:
                    self._templates[(customer, month)] += 1
            self._n += 1
            return {"errcode": 0, "errmsg": "ok", "msgid": f"tmpl{self._n}", "fail_list": fail_list}


def _multipart(content_type: str, raw: bytes) -> dict[str, Any]:
    """A multipart/form-data body: fields as text, files as (filename, bytes)."""
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + raw
    )
    form: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        filename = part.get_filename()
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        form[str(name)] = (filename, data) if filename else data.decode("utf-8", "replace")
    return form
