"""The intelligent bot callback (/wecom/bot, JSON, receive id "") end to end."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from orderdesk.bot.router import Context
from orderdesk.core import clock
from orderdesk.wecom import signing
from orderdesk.wecom.events import TextMessage
from orderdesk.wecom.replies import CardReply, MarkdownReply, Reply, TextReply, UpdateCardReply
from tests import callback_world
from tests.callback_world import World

# The scenario fixtures (module-scoped runtime, per-test world).
edge_rt = callback_world.edge_rt
world = callback_world.world


def _json(text: str | None) -> dict:
    assert text is not None
    return json.loads(text)


def test_group_text_strips_the_mention_and_replies_with_a_finished_stream(world: World) -> None:
    seen: list[TextMessage] = []

    @world.router.command("群")
    def in_group(ctx: Context) -> Reply | None:
        assert isinstance(ctx.event, TextMessage)
        seen.append(ctx.event)
        return MarkdownReply(f"**{ctx.args}**")

    req = signing.bot_text(world.settings, "zhangsan", "群 SO-2026-0001", chat_id="wrkSFfCgAA")
    status, reply = world.post(req)
    assert status == 200
    body = _json(reply)
    assert body["msgtype"] == "stream"
    assert body["stream"]["finish"] is True
    assert body["stream"]["content"] == "**SO-2026-0001**"
    assert body["stream"]["id"]
    [event] = seen
    assert (event.chat_type, event.chat_id, event.content) == (
        "group",
        "wrkSFfCgAA",
        "群 SO-2026-0001",
    )
    assert event.response_url is not None and event.response_url.startswith("https://")


def test_single_chat_text(world: World) -> None:
    status, reply = world.post(signing.bot_text(world.settings, "lisi", "echo 1:1"))
    assert status == 200
    assert _json(reply)["stream"]["content"] == "回声:1:1"
    assert world.effects == [("echo", "lisi")]


def test_bot_message_delivered_three_times(world: World) -> None:
    plaintext = signing.bot_text_json("zhangsan", "回声 三次", chat_id="grp1", msg_id="bot-msg-1")
    replies = [world.post(signing.seal(world.settings, "bot", plaintext)) for _ in range(3)]
    assert world.effects == [("echo", "zhangsan")]
    assert replies[0][0] == 200 and replies[0] == replies[1] == replies[2]


def test_card_click_updates_the_card_with_the_callback_task_id(world: World) -> None:
    new_card = {"card_type": "text_notice", "main_title": {"title": "已同意"}}

    @world.router.action("ok:")
    def ok(ctx: Context) -> Reply | None:
        world.effects.append(("ok", ctx.event.user_id))
        return UpdateCardReply(card=new_card)

    ts = 1764200001
    for user in ("zhangsan", "lisi"):
        req = signing.bot_click(world.settings, user, "task-9", "ok:9", chat_id="g", create_time=ts)
        _, reply = world.post(req)
        body = _json(reply)
        assert body["response_type"] == "update_template_card"
        assert body["template_card"]["task_id"] == "task-9"
        assert body["template_card"]["main_title"] == {"title": "已同意"}
    assert world.effects == [("ok", "zhangsan"), ("ok", "lisi")]


def test_a_click_in_a_group_greys_out_the_clickers_card_passively(world: World) -> None:
    # The bot has no update_button (D:101031): a rename becomes a passive update_template_card
    # without buttons; without userids it would replace the card for the whole group.
    req = signing.bot_click(world.settings, "zhangsan", "appr-3", "approve:3", chat_id="g")
    _, reply = world.post(req)
    body = _json(reply)
    assert body["response_type"] == "update_template_card"
    assert body["userids"] == ["zhangsan"]
    card = body["template_card"]
    assert (card["card_type"], card["task_id"]) == ("text_notice", "appr-3")
    assert card["main_title"]["title"] == "已同意 · 张三"
    assert "button_list" not in card
    assert world.outbox() == []  # no second message in the chat


def test_enter_chat_welcome_is_a_text_reply(world: World) -> None:
    @world.router.on_enter
    def welcome(ctx: Context) -> Reply | None:
        return MarkdownReply("欢迎,发送「帮助」查看命令")

    status, reply = world.post(signing.bot_enter(world.settings, "zhangsan"))
    assert status == 200
    assert _json(reply) == {"msgtype": "text", "text": {"content": "欢迎,发送「帮助」查看命令"}}


def test_card_reply_to_a_message(world: World) -> None:
    card = {"card_type": "text_notice", "main_title": {"title": "SO-1"}, "task_id": "q-1"}

    @world.router.command("卡")
    def show(ctx: Context) -> Reply | None:
        return CardReply(card)

    _, reply = world.post(signing.bot_text(world.settings, "zhangsan", "卡", chat_id="g"))
    assert _json(reply) == {"msgtype": "template_card", "template_card": card}


def test_slow_bot_message_says_processing_then_posts_to_response_url(world: World) -> None:
    from orderdesk.bot import deadline

    world.rt.settings = world.rt.settings.with_overrides(handler_budget_seconds=0.2)
    req = signing.bot_text(
        world.settings, "zhangsan", "慢 统计", chat_id="g", response_url="https://resp.test/x?c=1"
    )
    status, reply = world.post(req)
    assert status == 200
    body = _json(reply)
    assert body["msgtype"] == "stream" and body["stream"]["finish"] is True
    assert "处理中" in body["stream"]["content"]
    world.release.set()
    assert deadline.drain(timeout=10)
    [row] = world.outbox()
    assert (row.channel, row.recipient) == ("bot_response", "https://resp.test/x?c=1")
    assert row.payload == {"msgtype": "markdown", "markdown": {"content": "慢慢来:统计"}}


def test_unknown_bot_kinds_are_answered_200(world: World) -> None:
    image = json.dumps(
        {
            "msgid": "img-1",
            "aibotid": "b",
            "chattype": "single",
            "from": {"userid": "zhangsan"},
            "msgtype": "image",
            "image": {"url": "https://x"},
        }
    )
    feedback = signing.bot_event_json("zhangsan", {"eventtype": "feedback_event"})
    for plaintext in (image, feedback):
        assert world.post(signing.seal(world.settings, "bot", plaintext)) == (200, None)
    assert world.effects == []


def test_a_retry_while_the_first_delivery_runs_is_not_a_second_effect(world: World) -> None:
    import threading

    plaintext = signing.bot_text_json("zhangsan", "慢 并发", chat_id="g", msg_id="bot-busy-1")
    first: list[tuple[int, str | None]] = []
    t = threading.Thread(
        target=lambda: first.append(world.post(signing.seal(world.settings, "bot", plaintext)))
    )
    t.start()
    assert world.started.wait(timeout=10)  # the first delivery is inside its handler
    status, reply = world.post(signing.seal(world.settings, "bot", plaintext))
    assert status == 200 and "处理中" in _json(reply)["stream"]["content"]
    world.release.set()
    t.join(timeout=10)
    # WeCom dropped the first connection when it retried: the result goes out once, late.
    assert first == [(200, None)]
    [row] = world.outbox()
    assert row.channel == "bot_response"
    assert row.payload == {"msgtype": "markdown", "markdown": {"content": "慢慢来:并发"}}
    again = world.post(signing.seal(world.settings, "bot", plaintext))
    assert "处理中" in _json(again[1])["stream"]["content"]  # a third try: no second copy
    assert world.effects == [("slow", "zhangsan")] and len(world.outbox()) == 1


def test_bot_reply_carries_the_callback_urls_nonce(world: World) -> None:
    # D:101033: "需要用回调url中的nonce"; a fresh nonce gets the reply refused.
    req = signing.bot_text(world.settings, "zhangsan", "回声 nonce", chat_id="g")
    resp = world.client.post(req.url, data=req.body, content_type=req.content_type)
    assert json.loads(resp.get_data(as_text=True))["nonce"] == req.query["nonce"]


def test_late_welcome_to_enter_chat_is_not_sent_through_the_app(world: World) -> None:
    from orderdesk.bot import deadline

    @world.router.on_enter
    def slow_welcome(ctx: Context) -> Reply | None:
        world.release.wait(timeout=10)
        return TextReply("欢迎")

    world.rt.settings = world.rt.settings.with_overrides(handler_budget_seconds=0.2)
    assert world.post(signing.bot_enter(world.settings, "zhangsan")) == (200, None)
    world.release.set()
    assert deadline.drain(timeout=10)
    assert world.outbox() == []  # answer within the deadline or not at all


def test_bot_event_retried_without_create_time_is_one_event(world: World) -> None:
    # D:101027: bot events carry a msgid; a callback without create_time must not get a fresh
    # "now" per delivery (two keys, two effects) when WeCom retries it seconds later.
    data = json.loads(signing.bot_card_json("zhangsan", "appr-7", "approve:7", chat_id="g"))
    data.pop("create_time")
    plaintext = json.dumps(data, ensure_ascii=False)
    with clock.frozen(datetime(2026, 11, 2, 9, 0, tzinfo=UTC)) as advance:
        for _ in range(2):
            assert world.post(signing.seal(world.settings, "bot", plaintext))[0] == 200
            advance(timedelta(seconds=6))
    assert world.effects == [("approve:7", "zhangsan")]
