"""Bad input is answered at once with the right status and changes nothing."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from urllib.parse import urlencode

import pytest

from orderdesk.core import clock
from orderdesk.settings import Settings
from orderdesk.wecom import signing
from orderdesk.wecom.crypto import CallbackCrypto, sign
from tests import callback_world
from tests.callback_world import InboundEvent, OutboxMessage, World

BOMB = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
    "<xml><Encrypt>&lol2;</Encrypt></xml>"
)
XXE = (
    '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
    "<xml><Encrypt>&e;</Encrypt></xml>"
)

# The scenario fixtures (module-scoped runtime, per-test world).
edge_rt = callback_world.edge_rt
world = callback_world.world


def _signed_encrypt(s: Settings, channel: str, encrypt: str) -> tuple[str, bytes, str]:
    """A body carrying `encrypt` verbatim, correctly signed (so only the payload is wrong)."""
    token = s.wecom_token if channel == "app" else s.wecom_bot_token
    ts, nonce = str(int(clock.now().timestamp())), "n0nce"
    query = urlencode(
        {"msg_signature": sign(token, ts, nonce, encrypt), "timestamp": ts, "nonce": nonce}
    )
    if channel == "app":
        body = f"<xml><ToUserName>x</ToUserName><Encrypt>{encrypt}</Encrypt></xml>".encode()
    else:
        body = json.dumps({"encrypt": encrypt}).encode()
    path = "/wecom/callback" if channel == "app" else "/wecom/bot"
    return f"{path}?{query}", body, ("text/xml" if channel == "app" else "application/json")


def _raw_cipher(s: Settings, plain: bytes) -> str:
    """Encrypt arbitrary bytes (no WeCom framing) with the app key."""
    from wechatpy.crypto.base import WeChatCipher

    key = base64.b64decode(s.wecom_aes_key + "=")
    return base64.b64encode(WeChatCipher(key).encrypt(plain)).decode()


Case = Callable[[World], tuple[str, bytes, str]]


def _good(w: World, channel: str = "app") -> signing.SignedRequest:
    if channel == "app":
        return signing.app_text(w.settings, "zhangsan", "回声 x")
    return signing.bot_text(w.settings, "zhangsan", "回声 x")


def _tamper_query(req: signing.SignedRequest, **changes: str | None) -> str:
    query = dict(req.query)
    for k, v in changes.items():
        if v is None:
            query.pop(k, None)
        else:
            query[k] = v
    return f"{req.path}?{urlencode(query)}"


CASES: dict[str, tuple[int, Case]] = {
    "wrong signature": (
        403,
        lambda w: (_tamper_query(r := _good(w), msg_signature="0" * 40), r.body, r.content_type),
    ),
    "wrong corp id": (
        403,
        lambda w: (
            (
                r := signing.seal(
                    w.settings,
                    "app",
                    signing.app_text_xml(w.settings, "zhangsan", "回声 x"),
                    receive_id="wwother",
                )
            ).url,
            r.body,
            r.content_type,
        ),
    ),
    "bot message for another receiver": (
        403,
        lambda w: (
            (
                r := signing.seal(
                    w.settings,
                    "bot",
                    signing.bot_text_json("zhangsan", "回声 x"),
                    receive_id="wwcorp",
                )
            ).url,
            r.body,
            r.content_type,
        ),
    ),
    "missing msg_signature": (
        400,
        lambda w: (_tamper_query(r := _good(w), msg_signature=None), r.body, r.content_type),
    ),
    "missing nonce": (
        400,
        lambda w: (_tamper_query(r := _good(w, "bot"), nonce=None), r.body, r.content_type),
    ),
    "malformed outer XML": (
        400,
        lambda w: (_good(w).url, b"<xml><Encrypt>abc</Encrypt>", "text/xml"),
    ),
    "XML without Encrypt": (400, lambda w: (_good(w).url, b"<xml><To>x</To></xml>", "text/xml")),
    "XML entity bomb": (400, lambda w: (_good(w).url, BOMB.encode(), "text/xml")),
    "XML external entity": (400, lambda w: (_good(w).url, XXE.encode(), "text/xml")),
    "malformed JSON": (400, lambda w: (_good(w, "bot").url, b'{"encrypt": ', "application/json")),
    "JSON without encrypt": (400, lambda w: (_good(w, "bot").url, b'{"x": 1}', "application/json")),
    "JSON array": (400, lambda w: (_good(w, "bot").url, b"[1, 2]", "application/json")),
    "bad base64": (400, lambda w: _signed_encrypt(w.settings, "app", "not*base64!")),
    "truncated ciphertext": (
        400,
        lambda w: _signed_encrypt(
            w.settings,
            "app",
            base64.b64encode(
                base64.b64decode(_good(w).body.split(b"CDATA[")[2].split(b"]]")[0])[:-5]
            ).decode(),
        ),
    ),
    "bad padding": (
        400,
        lambda w: _signed_encrypt(w.settings, "app", _raw_cipher(w.settings, b"\x00" * 64)),
    ),
    "length prefix past the end": (
        400,
        lambda w: _signed_encrypt(
            w.settings,
            "app",
            _raw_cipher(w.settings, b"A" * 16 + b"\x00\x00\x10\x00" + b"hi" + bytes([10]) * 10),
        ),
    ),
    "not UTF-8 inside": (
        400,
        lambda w: _signed_encrypt(
            w.settings,
            "app",
            _raw_cipher(
                w.settings, b"A" * 16 + b"\x00\x00\x00\x02" + b"\xff\xfe" + bytes([10]) * 10
            ),
        ),
    ),
    "plaintext is not XML": (
        400,
        lambda w: (
            (r := signing.seal(w.settings, "app", "hello <xml")).url,
            r.body,
            r.content_type,
        ),
    ),
    "plaintext with a DTD": (
        400,
        lambda w: ((r := signing.seal(w.settings, "app", XXE)).url, r.body, r.content_type),
    ),
    "plaintext without FromUserName": (
        400,
        lambda w: (
            (
                r := signing.seal(
                    w.settings,
                    "app",
                    "<xml><MsgType>text</MsgType><CreateTime>1</CreateTime></xml>",
                )
            ).url,
            r.body,
            r.content_type,
        ),
    ),
    "bot plaintext is not JSON": (
        400,
        lambda w: ((r := signing.seal(w.settings, "bot", "{nope")).url, r.body, r.content_type),
    ),
    "bot text without msgid": (
        400,
        lambda w: (
            (
                r := signing.seal(
                    w.settings,
                    "bot",
                    json.dumps(
                        {"from": {"userid": "a"}, "msgtype": "text", "text": {"content": "x"}}
                    ),
                )
            ).url,
            r.body,
            r.content_type,
        ),
    ),
    "body over 64 KB": (
        413,
        lambda w: (_good(w).url, b"<xml>" + b"a" * 70000 + b"</xml>", "text/xml"),
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input(world: World, name: str) -> None:
    status, case = CASES[name]
    url, body, content_type = case(world)
    resp = world.client.post(url, data=body, content_type=content_type)
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert world.effects == []
    assert world.count(InboundEvent) == 0
    assert world.count(OutboxMessage) == 0


def test_the_good_request_behind_every_case_is_accepted(world: World) -> None:
    # Guard against the cases failing for an unrelated reason.
    for channel in ("app", "bot"):
        assert world.post(_good(world, channel))[0] == 200
    assert len(world.effects) == 2


def test_wrong_key_cannot_be_read_by_the_server(world: World) -> None:
    other = CallbackCrypto(world.settings.wecom_token, "A" * 43, world.settings.wecom_corp_id)
    env = other.encrypt(signing.app_text_xml(world.settings, "zhangsan", "回声 x"))
    query = urlencode(
        {"msg_signature": env.signature, "timestamp": env.timestamp, "nonce": env.nonce}
    )
    body = f"<xml><Encrypt><![CDATA[{env.encrypt}]]></Encrypt></xml>"
    resp = world.client.post(f"/wecom/callback?{query}", data=body, content_type="text/xml")
    assert resp.status_code in (400, 403)
    assert world.effects == []
