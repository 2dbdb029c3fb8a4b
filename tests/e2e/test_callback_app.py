"""The self-built app callback (/wecom/callback, XML) end to end with real encryption."""

from __future__ import annotations

import json

from defusedxml.ElementTree import fromstring

from orderdesk.bot.router import Context
from orderdesk.wecom import signing
from orderdesk.wecom.events import CardEvent, Channel
from orderdesk.wecom.replies import CardReply, MarkdownReply, Reply, UpdateCardReply
from tests import callback_world
from tests.callback_world import World

# The scenario fixtures (module-scoped runtime, per-test world).
edge_rt = callback_world.edge_rt
world = callback_world.world


def _xml(text: str | None) -> dict[str, str]:
    assert text is not None
    root = fromstring(text)
    return {child.tag: (child.text or "") for child in root}


def test_url_verification_echoes_the_plaintext_alone(world: World) -> None:
    channels: tuple[Channel, ...] = ("app", "bot")
    for channel in channels:
        url, echo = signing.verification(world.settings, channel)
        resp = world.client.get(url)
        assert resp.status_code == 200
        assert resp.get_data(as_text=True) == echo


def test_url_verification_refuses_a_bad_signature_and_missing_echostr(world: World) -> None:
    url, _ = signing.verification(world.settings, "app")
    assert world.client.get(url.replace("msg_signature=", "msg_signature=0")).status_code == 403
    without_echo = url.split("&echostr=")[0]
    assert world.client.get(without_echo).status_code == 400


def test_text_message_gets_an_encrypted_text_reply(world: World) -> None:
    status, reply = world.post(signing.app_text(world.settings, "zhangsan", "回声 你好"))
    assert status == 200
    fields = _xml(reply)
    assert fields["MsgType"] == "text"
    assert fields["Content"] == "回声:你好"
    assert fields["ToUserName"] == "zhangsan"
    assert fields["FromUserName"] == world.settings.wecom_corp_id
    assert world.effects == [("echo", "zhangsan")]


def test_english_alias_and_unknown_staff(world: World) -> None:
    _, reply = world.post(signing.app_text(world.settings, "lisi", "echo hi"))
    assert _xml(reply)["Content"] == "回声:hi"
    _, reply = world.post(signing.app_text(world.settings, "stranger", "回声 hi"))
    assert _xml(reply)["Content"] == "您还没有开通 OrderDesk,请联系管理员"
    assert world.effects == [("echo", "lisi")]


def test_three_deliveries_one_effect_three_identical_replies(world: World) -> None:
    plaintext = signing.app_text_xml(world.settings, "zhangsan", "回声 一次", msg_id="900001")
    replies = []
    for _ in range(3):
        # WeCom re-sends the same message with a fresh timestamp/nonce/signature each time.
        status, reply = world.post(signing.seal(world.settings, "app", plaintext))
        assert status == 200
        replies.append(reply)
    assert world.effects == [("echo", "zhangsan")]
    assert replies[0] is not None and "回声:一次" in replies[0]
    assert replies[0] == replies[1] == replies[2]


def test_two_clicks_in_the_same_second_by_different_users_are_two_effects(world: World) -> None:
    s = world.settings
    for user in ("zhangsan", "lisi"):
        req = signing.app_click(s, user, "appr-7", "approve:7", create_time=1764200000)
        status, reply = world.post(req)
        assert status == 200
        fields = _xml(reply)
        assert fields["MsgType"] == "update_button"
    assert sorted(world.effects) == [("approve:7", "lisi"), ("approve:7", "zhangsan")]
    # The same click delivered again is not a third effect.
    world.post(signing.app_click(s, "lisi", "appr-7", "approve:7", create_time=1764200000))
    assert len(world.effects) == 2


def test_update_button_reply_carries_the_replace_name(world: World) -> None:
    _, reply = world.post(signing.app_click(world.settings, "zhangsan", "appr-1", "approve:1"))
    assert reply is not None
    root = fromstring(reply)
    assert root.findtext("MsgType") == "update_button"
    assert root.findtext("Button/ReplaceName") == "已同意 · 张三"


def test_update_template_card_reply_is_xml_card(world: World) -> None:
    card = {
        "card_type": "button_interaction",
        "main_title": {"title": "审批 SO-2026-0001", "desc": "已处理"},
        "horizontal_content_list": [{"keyname": "金额", "value": "¥12,000.00"}],
        "button_list": [{"text": "已同意", "style": 4, "key": "noop:1"}],
        "task_id": "appr-1",
    }

    @world.router.action("card:")
    def replace(ctx: Context) -> Reply | None:
        return UpdateCardReply(card=card)

    _, reply = world.post(signing.app_click(world.settings, "zhangsan", "appr-1", "card:1"))
    assert reply is not None
    root = fromstring(reply)
    assert root.findtext("MsgType") == "update_template_card"
    assert root.findtext("TemplateCard/CardType") == "button_interaction"
    assert root.findtext("TemplateCard/MainTitle/Title") == "审批 SO-2026-0001"
    assert root.findtext("TemplateCard/HorizontalContentList/KeyName") == "金额"
    assert root.findtext("TemplateCard/ButtonList/Style") == "4"
    assert root.findtext("TemplateCard/ButtonList/Key") == "noop:1"


def test_new_card_reply_goes_out_as_a_message(world: World) -> None:
    card = {"card_type": "text_notice", "main_title": {"title": "订单"}, "task_id": "t-1"}

    @world.router.command("卡片")
    def show(ctx: Context) -> Reply | None:
        return CardReply(card)

    status, reply = world.post(signing.app_text(world.settings, "zhangsan", "卡片"))
    assert (status, reply) == (200, None)  # no passive form for a new card on the app
    [row] = world.outbox()
    assert (row.channel, row.recipient) == ("app_message", "zhangsan")
    assert row.payload == {"msgtype": "template_card", "template_card": card}


def test_enter_agent_and_unknown_kinds(world: World) -> None:
    @world.router.on_enter
    def welcome(ctx: Context) -> Reply | None:
        world.effects.append(("enter", ctx.event.user_id))
        from orderdesk.wecom.replies import TextReply

        return TextReply("欢迎使用 OrderDesk")

    _, reply = world.post(signing.app_enter(world.settings, "zhangsan"))
    assert _xml(reply)["Content"] == "欢迎使用 OrderDesk"
    s = world.settings
    image = (
        f"<xml><ToUserName>{s.wecom_corp_id}</ToUserName><FromUserName>zhangsan</FromUserName>"
        "<CreateTime>1764200000</CreateTime><MsgType>image</MsgType><PicUrl>http://x</PicUrl>"
        "<MediaId>m</MediaId><MsgId>77</MsgId><AgentID>1</AgentID></xml>"
    )
    subscribe = signing.app_event_xml(s, "zhangsan", "subscribe")
    for plaintext in (image, subscribe):
        assert world.post(signing.seal(s, "app", plaintext)) == (200, None)
    assert world.effects == [("enter", "zhangsan")]


def test_slow_handler_answers_empty_then_the_reply_arrives_through_the_outbox(
    world: World,
) -> None:
    from orderdesk.bot import deadline

    world.rt.settings = world.rt.settings.with_overrides(handler_budget_seconds=0.2)
    status, reply = world.post(signing.app_text(world.settings, "zhangsan", "慢 报表"))
    assert (status, reply) == (200, None)
    assert world.outbox() == []
    world.release.set()
    assert deadline.drain(timeout=10)
    [row] = world.outbox()
    assert (row.channel, row.recipient) == ("app_message", "zhangsan")
    assert row.payload == {"msgtype": "text", "text": {"content": "慢慢来:报表"}}
    assert world.effects == [("slow", "zhangsan")]
    assert row.idempotency_key.startswith("reply:app:msg:")


def test_retry_after_a_timeout_does_not_run_the_handler_again(world: World) -> None:
    from orderdesk.bot import deadline

    world.rt.settings = world.rt.settings.with_overrides(handler_budget_seconds=0.2)
    plaintext = signing.app_text_xml(world.settings, "zhangsan", "慢 一次", msg_id="900002")
    assert world.post(signing.seal(world.settings, "app", plaintext)) == (200, None)
    world.release.set()
    assert deadline.drain(timeout=10)
    assert world.post(signing.seal(world.settings, "app", plaintext)) == (200, None)
    assert world.effects == [("slow", "zhangsan")]
    assert len(world.outbox()) == 1


def test_card_event_fields_reach_the_handler(world: World) -> None:
    seen: list[CardEvent] = []

    @world.router.action("pick:")
    def pick(ctx: Context) -> Reply | None:
        assert isinstance(ctx.event, CardEvent)
        seen.append(ctx.event)
        return None

    req = signing.app_click(
        world.settings,
        "zhangsan",
        "vote-1",
        "pick:go",
        card_type="multiple_interaction",
        response_code="RC123",
        selected={"reason": ["r1", "r2"], "who": ["u"]},
    )
    assert world.post(req) == (200, None)
    [event] = seen
    assert (event.task_id, event.card_type, event.response_code) == (
        "vote-1",
        "multiple_interaction",
        "RC123",
    )
    assert event.selected_items == {"reason": ["r1", "r2"], "who": ["u"]}
    assert json.dumps(event.selected_items)  # plain data


def test_markdown_reply_goes_out_through_message_send_not_passively(world: World) -> None:
    # D:90241: markdown is not an app passive reply type (it is send-only), e.g. 逾期 in 1:1.
    @world.router.command("表")
    def table(ctx: Context) -> Reply | None:
        return MarkdownReply("**逾期** 2 笔")

    status, reply = world.post(signing.app_text(world.settings, "zhangsan", "表"))
    assert (status, reply) == (200, None)
    [row] = world.outbox()
    assert (row.channel, row.recipient) == ("app_message", "zhangsan")
    assert row.payload == {"msgtype": "markdown", "markdown": {"content": "**逾期** 2 笔"}}


def test_app_reply_carries_the_callback_urls_nonce(world: World) -> None:
    req = signing.app_text(world.settings, "zhangsan", "回声 nonce")
    resp = world.client.post(req.url, data=req.body, content_type=req.content_type)
    nonce = fromstring(resp.get_data(as_text=True)).findtext("Nonce")
    assert nonce == req.query["nonce"]


def test_result_of_a_delivery_that_a_retry_found_running_reaches_the_user_once(
    world: World,
) -> None:
    import threading

    plaintext = signing.app_text_xml(world.settings, "zhangsan", "慢 重试", msg_id="900003")
    first: list[tuple[int, str | None]] = []
    t = threading.Thread(
        target=lambda: first.append(world.post(signing.seal(world.settings, "app", plaintext)))
    )
    t.start()
    assert world.started.wait(timeout=10)  # the first delivery is inside its handler
    assert world.post(signing.seal(world.settings, "app", plaintext)) == (200, None)
    world.release.set()
    t.join(timeout=10)
    assert first == [(200, None)]  # WeCom no longer listens on the first connection
    [row] = world.outbox()
    assert (row.channel, row.recipient) == ("app_message", "zhangsan")
    assert row.payload == {"msgtype": "text", "text": {"content": "慢慢来:重试"}}
    assert world.post(signing.seal(world.settings, "app", plaintext)) == (200, None)
    assert world.effects == [("slow", "zhangsan")] and len(world.outbox()) == 1
