"""The group robot's key as typed in chat (`群机器人 …`) and where a push to a binding goes."""

from __future__ import annotations

import pytest

from orderdesk.core.errors import ValidationFailed
from orderdesk.models import ChatBinding
from orderdesk.orders.robots import BAD_KEY, mask_key, parse_robot_key
from orderdesk.wecom.group_targets import push_target

KEY = "3f2a9c1e-7b4d-4e8f-9a6b-1c2d3e4f5a6b"


@pytest.mark.parametrize(
    "typed",
    [
        KEY,
        KEY.upper(),
        f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={KEY}",
        f"<https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={KEY}>",
        f"  https://qyapi.weixin.qq.com/cgi-bin/webhook/send?debug=1&key={KEY} ",
    ],
)
def test_a_url_or_a_bare_key_gives_the_key(typed: str) -> None:
    assert parse_robot_key(typed) == KEY


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "hello",
        KEY[:-1],
        KEY + "0",
        KEY.replace("-", ""),
        "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa",  # the documentation's placeholder
        f"http://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={KEY}",
        f"https://qyapi.weixin.qq.com.evil.cn/cgi-bin/webhook/send?key={KEY}",
        f"https://qyapi.weixin.qq.com/cgi-bin/message/send?key={KEY}",
        "https://qyapi.weixin.qq.com/cgi-bin/webhook/send",
        f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={KEY}%0A",
    ],
)
def test_anything_else_is_refused_without_echoing_it(typed: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        parse_robot_key(typed)
    assert refused.value.message == BAD_KEY


def test_the_key_is_shown_masked() -> None:
    assert mask_key(KEY) == "****5a6b"


def test_push_targets() -> None:
    def row(kind: str, chat_id: str, robot: str | None = None) -> ChatBinding:
        return ChatBinding(kind=kind, chat_id=chat_id, robot_key=robot)

    assert push_target(row("appchat", "chat1")) == ("appchat", "chat1")
    assert push_target(row("webhook", KEY)) == ("webhook", KEY)
    assert push_target(row("bot_group", "wrk1", KEY)) == ("webhook", KEY)
    assert push_target(row("bot_group", "wrk1")) is None  # the bot cannot push
    assert push_target(row("customer_group", "wrc1")) is None
