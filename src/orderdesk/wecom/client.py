"""The WeCom API client: wechatpy's `WeChatClient` with a shared token, timeouts and typed errors.

`WeComClient` keeps wechatpy's API objects (`client.department`, `client.user`, ...) working but
replaces the two things that do not survive several processes: the token (see `wecom.tokens`)
and the error handling (see `_request`). Every call has a timeout. Senders return WeCom's JSON
answer; any `errcode != 0` raises `WeComError(code, msg)`.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import requests
from wechatpy.enterprise import WeChatClient
from wechatpy.utils import json as wjson

from orderdesk import metrics
from orderdesk.wecom.cards import app_markdown, app_template_card, app_text
from orderdesk.wecom.errors import BUSY_ERRORS, TOKEN_ERRORS, WeComError, WeComTransportError
from orderdesk.wecom.tokens import TokenStore

if TYPE_CHECKING:
    from redis import Redis

    from orderdesk.runtime import Runtime
    from orderdesk.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = (3.05, 10.0)  # (connect, read) seconds


@dataclass(frozen=True)
class TagMembers:
    userids: list[str] = field(default_factory=list)
    department_ids: list[int] = field(default_factory=list)


class WeComClient(WeChatClient):
    def __init__(
        self,
        *,
        corp_id: str,
        secret: str,
        agent_id: int,
        api_base: str = "https://qyapi.weixin.qq.com/cgi-bin",
        redis: Redis | None = None,
        namespace: str = "orderdesk",
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        busy_retries: int = 2,
        busy_backoff: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(corp_id, secret, timeout=timeout, auto_retry=False)
        self._redis, self._namespace = redis, namespace  # for the API-call counters
        self.API_BASE_URL = api_base.rstrip("/") + "/"
        self.agent_id = agent_id
        self.busy_retries = busy_retries
        self.busy_backoff = busy_backoff
        self._sleep = sleep
        self.tokens = TokenStore(
            fetch=self._fetch_token, corp_id=corp_id, secret=secret, redis=redis,
            namespace=namespace,
        )  # fmt: skip

    @classmethod
    def from_settings(cls, settings: Settings, redis: Redis | None = None) -> WeComClient:
        return cls(
            corp_id=settings.wecom_corp_id,
            secret=settings.wecom_secret,
            agent_id=settings.wecom_agent_id,
            api_base=settings.wecom_api_base,
            redis=redis,
            namespace=settings.redis_namespace,
        )

    # ------------------------------------------------------------------ plumbing

    @property
    def api_base(self) -> str:
        return str(self.API_BASE_URL)

    @property
    def access_token(self) -> str:
        return self.tokens.get()

    def fetch_access_token(self) -> dict[str, Any]:
        """wechatpy's hook; routed through the shared store so only one process fetches."""
        return {"access_token": self.tokens.get()}

    def _fetch_token(self) -> tuple[str, int]:
        data = self._http_json(
            "GET",
            self.api_base + "gettoken",
            params={"corpid": self.corp_id, "corpsecret": self.secret},
        )
        _raise_for_errcode(data)
        token = data.get("access_token")
        if not token:
            raise WeComError(-3, "gettoken answered without access_token")
        return str(token), int(data.get("expires_in", 7200))

    def _http_json(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        errcode = "transport"
        try:
            data = self._http_json_once(method, url, **kwargs)
            errcode = str(data.get("errcode", 0))
            return data
        finally:
            metrics.count_api_call(self._redis, self._namespace, _endpoint(url), errcode)

    def _http_json_once(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        kwargs.setdefault("timeout", self.timeout)
        try:
            res = self._http.request(method=method, url=url, **kwargs)
        except requests.Timeout as exc:
            raise WeComTransportError(f"timeout calling {_path(url)}") from exc
        except requests.RequestException as exc:
            raise WeComTransportError(f"{type(exc).__name__} calling {_path(url)}") from exc
        if res.status_code >= 400:
            raise WeComTransportError(f"HTTP {res.status_code} from {_path(url)}")
        try:
            data = wjson.loads(res.content.decode("utf-8", "ignore"), strict=False)
        except ValueError as exc:
            raise WeComTransportError(f"non-JSON answer from {_path(url)}") from exc
        if not isinstance(data, dict):
            raise WeComTransportError(f"unexpected answer from {_path(url)}")
        if "errcode" in data:
            data["errcode"] = int(data["errcode"])
        return data

    def _request(self, method: str, url_or_endpoint: str, **kwargs: Any) -> Any:
        """Every API call (ours and wechatpy's) ends here.

        Token errors: drop that token (once, shared) and retry once. Busy errors: back off with
        jitter and retry a few times. Anything else: `WeComError`.
        """
        if url_or_endpoint.startswith(("http://", "https://")):
            url = url_or_endpoint
        else:
            url = kwargs.pop("api_base_url", self.api_base) + url_or_endpoint.lstrip("/")
        result_processor = kwargs.pop("result_processor", None)
        with_token = kwargs.pop("with_token", True)
        params = dict(kwargs.pop("params", None) or {})
        if isinstance(kwargs.get("data"), dict):
            kwargs["data"] = wjson.dumps(kwargs["data"], ensure_ascii=False).encode("utf-8")
            kwargs.setdefault("headers", {"Content-Type": "application/json"})
        token_retried = False
        busy_tries = 0
        while True:
            token = None
            if with_token:
                token = self.tokens.get()
                params["access_token"] = token
            try:
                data = self._http_json(method, url, params=params, **kwargs)
                _raise_for_errcode(data)
            except WeComError as exc:
                if token is not None and exc.code in TOKEN_ERRORS and not token_retried:
                    log.info("WeCom token rejected (%s); refreshing once", exc.code)
                    self.tokens.invalidate(token)
                    token_retried = True
                    continue
                if exc.busy and busy_tries < self.busy_retries:
                    busy_tries += 1
                    delay = self.busy_backoff * (2 ** (busy_tries - 1))
                    self._sleep(random.uniform(delay / 2, delay))  # full jitter
                    continue
                raise
            return result_processor(data) if result_processor else data

    # ------------------------------------------------------------------ messages

    def send_message(
        self, touser: str, body: Mapping[str, Any], *, duplicate_check_interval: int = 1800
    ) -> dict[str, Any]:
        """`message/send` of a body built by `wecom.cards` (text, markdown, template_card;
        miniprogram_notice is a mini-program app's, not ours: D:90236). Duplicate check is
        always on: a second guard against double delivery after a crash."""
        data = dict(body)
        data.update(
            touser=touser,
            agentid=self.agent_id,
            enable_duplicate_check=1,
            duplicate_check_interval=duplicate_check_interval,
        )
        return dict(self.post("message/send", data=data))

    def send_text(self, touser: str, content: str) -> dict[str, Any]:
        return self.send_message(touser, app_text(content))

    def send_markdown(self, touser: str, content: str) -> dict[str, Any]:
        return self.send_message(touser, app_markdown(content))

    def send_template_card(self, touser: str, card: Mapping[str, Any]) -> dict[str, Any]:
        return self.send_message(touser, app_template_card(card))

    def update_template_card(
        self,
        *,
        userids: list[str],
        response_code: str,
        replace_name: str | None = None,
        card: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        data: dict[str, Any] = {
            "userids": userids,
            "agentid": self.agent_id,
            "response_code": response_code,
        }
        if card is not None:
            data["template_card"] = dict(card)
        else:
            data["button"] = {"replace_name": replace_name or "已处理"}
        return dict(self.post("message/update_template_card", data=data))

    def appchat_create(
        self, *, name: str, owner: str, userlist: list[str], chatid: str | None = None
    ) -> str:
        data: dict[str, Any] = {"name": name, "owner": owner, "userlist": userlist}
        if chatid:
            data["chatid"] = chatid
        return str(self.post("appchat/create", data=data)["chatid"])

    def appchat_send(self, chatid: str, body: Mapping[str, Any]) -> dict[str, Any]:
        data = dict(body)
        data["chatid"] = chatid
        return dict(self.post("appchat/send", data=data))

    def webhook_url(self, key: str) -> str:
        if key.startswith(("http://", "https://")):
            return key
        return f"{self.api_base}webhook/send?key={quote(key, safe='')}"

    def webhook_send(self, key: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Group robot `webhook/send?key=`: the key is the credential, no access token."""
        return dict(self.post(self.webhook_url(key), data=dict(body), with_token=False))

    def upload_media(self, kind: str, name: str, content: bytes) -> str:
        """`media/upload` (multipart, field `media`, D:90253): a media_id valid for 3 days."""
        files = {"media": (name, content, "application/octet-stream")}
        data = self.post("media/upload", params={"type": kind}, files=files)
        return str(data["media_id"])

    def webhook_upload_media(self, key: str, name: str, content: bytes) -> str:
        """A group robot's own `webhook/upload_media?key=&type=file` (D:91770)."""
        url = f"{self.api_base}webhook/upload_media?key={quote(key, safe='')}&type=file"
        files = {"media": (name, content, "application/octet-stream")}
        return str(self.post(url, files=files, with_token=False)["media_id"])

    def bot_respond(self, response_url: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """The intelligent bot's one-shot `response_url` (markdown or template_card)."""
        return dict(self.post(response_url, data=dict(body), with_token=False))

    def add_msg_template(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """`externalcontact/add_msg_template`: a task the sender must confirm in WeCom."""
        return dict(self.post("externalcontact/add_msg_template", data=dict(body)))

    # ------------------------------------------------------------------ login

    def jscode2session(self, code: str) -> dict[str, Any]:
        """Mini program login: `{corpid, userid, session_key}`. Never send session_key on."""
        return dict(
            self.get(
                "miniprogram/jscode2session",
                params={"js_code": code, "grant_type": "authorization_code"},
            )
        )

    def getuserinfo(self, code: str) -> str | None:
        """H5 OAuth code -> userid (None for a non-member, who only gets an openid)."""
        data = self.get("auth/getuserinfo", params={"code": code})
        userid = data.get("userid") or data.get("UserId")
        return str(userid) if userid else None

    # ------------------------------------------------------------------ directory (staff sync)

    def list_departments(self, department_id: int | None = None) -> list[dict[str, Any]]:
        params = {"id": department_id} if department_id is not None else {}
        return list(self.get("department/list", params=params).get("department", []))

    def list_users(self, department_id: int, *, fetch_child: bool = True) -> list[dict[str, Any]]:
        """Members with details (userid, name, department, position, mobile, email, status)."""
        data = self.get(
            "user/list",
            params={"department_id": department_id, "fetch_child": 1 if fetch_child else 0},
        )
        return list(data.get("userlist", []))

    def get_user(self, userid: str) -> dict[str, Any]:
        return dict(self.get("user/get", params={"userid": userid}))

    def list_tags(self) -> list[dict[str, Any]]:
        return list(self.get("tag/list").get("taglist", []))

    def tag_members(self, tag_id: int) -> TagMembers:
        data = self.get("tag/get", params={"tagid": tag_id})
        return TagMembers(
            userids=[str(u["userid"]) for u in data.get("userlist", []) if u.get("userid")],
            department_ids=[int(p) for p in data.get("partylist", [])],
        )


def _raise_for_errcode(data: Mapping[str, Any]) -> None:
    code = int(data.get("errcode", 0) or 0)
    if code != 0:
        raise WeComError(code, str(data.get("errmsg", "")))


def _path(url: str) -> str:
    # Never log query strings: they carry the access token or the webhook key.
    return url.split("?", 1)[0]


def _endpoint(url: str) -> str:
    """The metric label of a call: the API path ("message/send"), never a key or token."""
    path = _path(url).split("://", 1)[-1].partition("/")[2]
    return path.partition("cgi-bin/")[2] or path


def get_client(rt: Runtime) -> WeComClient:
    """The client of this runtime (one per process, sharing the token through Redis)."""
    client = rt.extensions.get("orderdesk.wecom.client")
    if client is None:
        client = WeComClient.from_settings(rt.settings, rt.redis)
        rt.extensions["orderdesk.wecom.client"] = client
    return client


__all__ = ["BUSY_ERRORS", "TagMembers", "WeComClient", "WeComError", "get_client"]
