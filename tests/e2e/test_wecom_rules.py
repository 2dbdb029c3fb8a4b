"""The strict fake WeCom refuses what WeCom refuses: one test per line of `wecom_rules.RULES`.

API rules are exercised over HTTP against the fake server; passive-reply rules through
`check_passive` on envelopes sealed like our callback views seal them.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from orderdesk.settings import Settings
from orderdesk.wecom import cards, envelopes, signing
from tests.fakes.wecom_rules import RULES, Refused, check_passive
from tests.fakes.wecom_server import FakeWeCom

TESTED: set[str] = set()


def rule(name: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Mark a test as the proof of RULES[name] (the last test checks that every rule has one)."""
    assert name in RULES, name
    TESTED.add(name)
    return lambda fn: fn


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeWeCom]:
    server = FakeWeCom().start()
    yield server
    server.stop()


def _call(fake: FakeWeCom, path: str, body: dict[str, Any]) -> dict[str, Any]:
    token = requests.get(f"{fake.base}/gettoken", timeout=5).json()["access_token"]
    url = path if path.startswith("http") else f"{fake.base}/{path}?access_token={token}"
    return dict(requests.post(url, json=body, timeout=5).json())


def _refused(fake: FakeWeCom, name: str, path: str, body: dict[str, Any]) -> None:
    answer = _call(fake, path, body)
    assert answer["errcode"] == RULES[name].errcode != 0, answer
    assert name in answer["errmsg"] and RULES[name].page in answer["errmsg"]


def _send(msg: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"touser": "zhangsan", "agentid": 1000002, **msg, **extra}


def _card(**over: Any) -> dict[str, Any]:
    card = cards.button_interaction(task_id="appr-1", title="审批", buttons=[("同意", "ok:1")])
    card.update(over)
    return card


# -------------------------------------------------------------------------------- message/send


@rule("send_msgtype")
def test_miniprogram_notice_from_the_self_built_app_is_refused(fake: FakeWeCom) -> None:
    notice = {"appid": "wx1", "title": "订单提醒", "content_item": []}
    _refused(
        fake,
        "send_msgtype",
        "message/send",
        _send({"msgtype": "miniprogram_notice", "miniprogram_notice": notice}),
    )
    assert _call(fake, "message/send", _send(cards.app_text("好")))["errcode"] == 0


def test_every_app_message_builder_makes_a_body_the_self_built_app_may_send(
    fake: FakeWeCom,
) -> None:
    # miniprogram_notice is a mini-program app's (D:90236): our app has no builder for it.
    samples = {
        "app_text": cards.app_text("好"),
        "app_markdown": cards.app_markdown("**好**"),
        "app_template_card": cards.app_template_card(_card()),
    }
    assert {name for name in dir(cards) if name.startswith("app_")} == set(samples)
    for body in samples.values():
        assert _call(fake, "message/send", _send(body))["errcode"] == 0


@rule("send_target")
def test_message_send_needs_a_recipient_and_at_most_1000_users(fake: FakeWeCom) -> None:
    _refused(fake, "send_target", "message/send", {"agentid": 1, **cards.app_text("x")})
    many = "|".join(f"u{i}" for i in range(1001))
    _refused(fake, "send_target", "message/send", _send(cards.app_text("x"), touser=many))


@rule("text_bytes")
def test_text_and_markdown_over_2048_bytes_are_refused(fake: FakeWeCom) -> None:
    long = "订" * 683  # 2049 bytes
    for msg in (
        {"msgtype": "text", "text": {"content": long}},
        {"msgtype": "markdown", "markdown": {"content": long}},
    ):
        _refused(fake, "text_bytes", "message/send", _send(msg))


@rule("card_type")
def test_unknown_card_type_is_refused(fake: FakeWeCom) -> None:
    body = _send(cards.app_template_card(_card(card_type="big_card")))
    _refused(fake, "card_type", "message/send", body)


@rule("task_id")
def test_task_id_charset_and_length(fake: FakeWeCom) -> None:
    for bad in ("审批-1", "a b", "x" * 129, None):
        body = _send(cards.app_template_card(_card(task_id=bad)))
        _refused(fake, "task_id", "message/send", body)
    assert cards.safe_task_id("审批 1").isascii()  # our builder makes any id acceptable


@rule("card_buttons")
def test_buttons_count_key_and_style(fake: FakeWeCom) -> None:
    seven = [{"text": f"b{i}", "key": f"k{i}", "style": 1} for i in range(7)]
    for buttons in (
        seven,
        [],
        [{"text": "b", "key": "k" * 1025}],
        [{"text": "b", "key": "k", "style": 5}],
    ):
        body = _send(cards.app_template_card(_card(button_list=buttons)))
        _refused(fake, "card_buttons", "message/send", body)


@rule("card_lists")
def test_horizontal_rows_and_jumps(fake: FakeWeCom) -> None:
    rows = [{"keyname": "k", "value": "v"}] * 7
    _refused(
        fake,
        "card_lists",
        "message/send",
        _send(cards.app_template_card(_card(horizontal_content_list=rows))),
    )
    jumps = [{"type": 1, "url": "https://x.test", "title": "t"}] * 4
    _refused(
        fake, "card_lists", "message/send", _send(cards.app_template_card(_card(jump_list=jumps)))
    )


# -------------------------------------------------------------------------------- card updates


def _update(code: str) -> dict[str, Any]:
    return {
        "userids": ["zhangsan"],
        "agentid": 1000002,
        "response_code": code,
        "button": {"replace_name": "已同意"},
    }


@rule("response_code_issued")
def test_update_needs_a_response_code_wecom_issued(fake: FakeWeCom) -> None:
    _refused(fake, "response_code_issued", "message/update_template_card", _update("made-up"))
    _refused(
        fake,
        "response_code_issued",
        "message/update_template_card",
        {"agentid": 1, "response_code": "x"},
    )


@rule("response_code_once")
def test_a_response_code_works_once(fake: FakeWeCom) -> None:
    code = _call(fake, "message/send", _send(cards.app_template_card(_card())))["response_code"]
    assert _call(fake, "message/update_template_card", _update(code))["errcode"] == 0
    _refused(fake, "response_code_once", "message/update_template_card", _update(code))


@rule("response_code_72h")
def test_a_response_code_expires_after_72_hours(fake: FakeWeCom) -> None:
    code = fake.issue_response_code("click-rc-1")
    fake.advance(72 * 3600 + 1)
    try:
        _refused(fake, "response_code_72h", "message/update_template_card", _update(code))
    finally:
        fake.advance(-(72 * 3600 + 1))


# -------------------------------------------------------------------------------- response_url


@rule("response_url_issued")
def test_response_url_must_come_from_a_callback(fake: FakeWeCom) -> None:
    url = f"{fake.base}/aibot/response?response_code=guessed"
    _refused(fake, "response_url_issued", url, cards.app_markdown("x"))


@rule("response_url_once")
def test_response_url_takes_one_post(fake: FakeWeCom) -> None:
    url = fake.response_url("group")
    assert _call(fake, url, cards.app_markdown("一"))["errcode"] == 0
    _refused(fake, "response_url_once", url, cards.app_markdown("二"))


@rule("response_url_1h")
def test_response_url_expires_after_an_hour(fake: FakeWeCom) -> None:
    url = fake.response_url("single")
    fake.advance(3601)
    try:
        _refused(fake, "response_url_1h", url, cards.app_markdown("晚了"))
    finally:
        fake.advance(-3601)


@rule("response_url_type")
def test_response_url_takes_markdown_or_a_card_only(fake: FakeWeCom) -> None:
    _refused(fake, "response_url_type", fake.response_url("single"), cards.app_text("x"))


@rule("response_url_card_single")
def test_response_url_card_only_for_a_single_chat(fake: FakeWeCom) -> None:
    card = cards.app_template_card(_card())
    _refused(fake, "response_url_card_single", fake.response_url("group"), card)
    assert _call(fake, fake.response_url("single"), card)["errcode"] == 0


# -------------------------------------------------------------------------------- group chats


@rule("appchat_send_type")
def test_appchat_send_takes_no_template_card(fake: FakeWeCom) -> None:
    body = {"chatid": "grp1", **cards.app_template_card(_card())}
    _refused(fake, "appchat_send_type", "appchat/send", body)


@rule("appchat_create")
def test_appchat_create_chatid_and_members(fake: FakeWeCom) -> None:
    _refused(
        fake,
        "appchat_create",
        "appchat/create",
        {"name": "群", "owner": "a", "userlist": ["a", "b"], "chatid": "proj-1"},
    )
    _refused(
        fake,
        "appchat_create",
        "appchat/create",
        {"name": "群", "owner": "a", "userlist": ["a"], "chatid": "proj1"},
    )


@rule("appchat_chatid_taken")
def test_appchat_create_twice_with_one_chatid(fake: FakeWeCom) -> None:
    body = {"name": "群", "owner": "a", "userlist": ["a", "b"], "chatid": "taken1"}
    assert _call(fake, "appchat/create", body)["chatid"] == "taken1"
    _refused(fake, "appchat_chatid_taken", "appchat/create", body)


@rule("webhook_bytes")
def test_webhook_text_2048_and_markdown_4096_bytes(fake: FakeWeCom) -> None:
    url = f"{fake.base}/webhook/send?key=robot"
    _refused(fake, "webhook_bytes", url, {"msgtype": "text", "text": {"content": "x" * 2049}})
    assert _call(fake, url, cards.webhook_markdown("x" * 4096))["errcode"] == 0
    _refused(
        fake, "webhook_bytes", url, {"msgtype": "markdown", "markdown": {"content": "x" * 4097}}
    )


@rule("msg_template_month")
def test_a_customer_gets_at_most_four_templates_a_month(fake: FakeWeCom) -> None:
    body = {"sender": "zhangsan", "external_userid": ["wmA", "wmB"], "text": {"content": "您好"}}
    for _ in range(3):
        assert _call(fake, "externalcontact/add_msg_template", body)["fail_list"] == []
    only_a = {**body, "external_userid": ["wmA"]}
    assert _call(fake, "externalcontact/add_msg_template", only_a)["fail_list"] == []
    assert _call(fake, "externalcontact/add_msg_template", body)["fail_list"] == ["wmA"]
    group = {"sender": "zhangsan", "chat_type": "group", "chat_id_list": ["wrG"], "text": {}}
    answers = [_call(fake, "externalcontact/add_msg_template", group) for _ in range(5)]
    assert [a["fail_list"] for a in answers] == [[], [], [], [], ["wrG"]]


# -------------------------------------------------------------------------------- passive replies


def _reply(
    settings: Settings, req: signing.SignedRequest, plaintext: str, nonce: str | None = None
) -> str:
    crypto = signing.crypto(settings, req.channel)
    seal = envelopes.seal_app if req.channel == "app" else envelopes.seal_bot
    return seal(crypto, plaintext, nonce=nonce or req.query["nonce"])


@rule("reply_nonce")
def test_a_reply_with_a_fresh_nonce_is_refused(settings: Settings) -> None:
    req = signing.bot_text(settings, "zhangsan", "查 1", chat_id="g")
    stream = json.dumps(
        {"msgtype": "stream", "stream": {"id": "s", "finish": True, "content": "x"}}
    )
    assert check_passive(settings, req, _reply(settings, req, stream)) == stream
    with pytest.raises(Refused, match="reply_nonce"):
        check_passive(settings, req, _reply(settings, req, stream, nonce="another1"))
    app = signing.app_text(settings, "zhangsan", "查 1")
    text = "<xml><MsgType><![CDATA[text]]></MsgType><Content>x</Content></xml>"
    with pytest.raises(Refused, match="reply_nonce"):
        check_passive(settings, app, _reply(settings, app, text, nonce="another1"))


@rule("app_passive_type")
def test_app_passive_markdown_or_new_card_is_refused(settings: Settings) -> None:
    req = signing.app_text(settings, "zhangsan", "逾期")
    for msg_type in ("markdown", "template_card", "update_button"):
        plain = f"<xml><MsgType><![CDATA[{msg_type}]]></MsgType></xml>"
        with pytest.raises(Refused, match="app_passive_type"):
            check_passive(settings, req, _reply(settings, req, plain))
    click = signing.app_click(settings, "zhangsan", "appr-1", "ok:1")
    plain = "<xml><MsgType><![CDATA[update_button]]></MsgType></xml>"
    assert check_passive(settings, click, _reply(settings, click, plain)) == plain


@rule("bot_passive_type")
def test_bot_passive_types_per_callback(settings: Settings) -> None:
    text = json.dumps({"msgtype": "text", "text": {"content": "x"}})
    message = signing.bot_text(settings, "zhangsan", "查 1", chat_id="g")
    with pytest.raises(Refused, match="bot_passive_type"):
        check_passive(settings, message, _reply(settings, message, text))
    enter = signing.bot_enter(settings, "zhangsan")
    assert check_passive(settings, enter, _reply(settings, enter, text)) == text
    click = signing.bot_click(settings, "zhangsan", "appr-1", "ok:1", chat_id="g")
    update_button = json.dumps({"response_type": "update_button", "button": {}})
    with pytest.raises(Refused, match="bot_passive_type"):
        check_passive(settings, click, _reply(settings, click, update_button))


# -------------------------------------------------------------------------------- media (issue 13)

PNG = b"\x89PNG\r\n\x1a\n"


def _upload(fake: FakeWeCom, kind: str, name: str, content: bytes) -> dict[str, Any]:
    token = requests.get(f"{fake.base}/gettoken", timeout=5).json()["access_token"]
    url = f"{fake.base}/media/upload?access_token={token}&type={kind}"
    return dict(requests.post(url, files={"media": (name, content)}, timeout=5).json())


@rule("media_type")
def test_media_upload_type_and_field(fake: FakeWeCom) -> None:
    assert _upload(fake, "image", "a.png", PNG + b"x" * 10)["errcode"] == 0
    assert _upload(fake, "sticker", "a.png", PNG + b"x")["errcode"] == RULES["media_type"].errcode


@rule("media_size")
def test_media_upload_size_and_format(fake: FakeWeCom) -> None:
    code = RULES["media_size"].errcode
    assert _upload(fake, "image", "a.gif", b"GIF89a" + b"x" * 10)["errcode"] == code  # not JPG/PNG
    assert _upload(fake, "image", "a.png", PNG + b"x" * (2 * 1024 * 1024))["errcode"] == code
    assert _upload(fake, "file", "a.txt", b"12345")["errcode"] == code  # 5 bytes or less
    assert _upload(fake, "file", "a.txt", b"123456")["errcode"] == 0


@rule("media_id")
def test_image_message_needs_an_issued_media_id(fake: FakeWeCom) -> None:
    _refused(
        fake, "media_id", "message/send", _send({"msgtype": "image", "image": {"media_id": "x"}})
    )
    media_id = _upload(fake, "image", "a.png", PNG + b"x" * 10)["media_id"]
    ok = _call(fake, "message/send", _send({"msgtype": "image", "image": {"media_id": media_id}}))
    assert ok["errcode"] == 0
    # An image's media_id is not a file's.
    _refused(
        fake, "media_id", "message/send", _send({"msgtype": "file", "file": {"media_id": media_id}})
    )
    fake.advance(3 * 86400 + 1)  # a media_id lives 3 days
    try:
        body = _send({"msgtype": "image", "image": {"media_id": media_id}})
        _refused(fake, "media_id", "message/send", body)
    finally:
        fake.advance(-(3 * 86400 + 1))


@rule("webhook_image")
def test_webhook_image_is_base64_with_its_md5(fake: FakeWeCom) -> None:
    raw = PNG + b"x" * 10
    good = {"base64": base64.b64encode(raw).decode(), "md5": hashlib.md5(raw).hexdigest()}
    url = f"{fake.base}/webhook/send?key=k1"
    answer = requests.post(url, json={"msgtype": "image", "image": good}, timeout=5).json()
    assert answer["errcode"] == 0
    bad = {**good, "md5": "0" * 32}
    answer = requests.post(url, json={"msgtype": "image", "image": bad}, timeout=5).json()
    assert answer["errcode"] == RULES["webhook_image"].errcode


def test_every_rule_has_a_test() -> None:
    assert set(RULES) == TESTED
