"""Pure reply rendering: XML card names, CDATA escaping, late-delivery payloads."""

from __future__ import annotations

from defusedxml.ElementTree import fromstring

from orderdesk.wecom import cards
from orderdesk.wecom.envelopes import card_xml, cdata, late_messages, render
from orderdesk.wecom.events import CardEvent, EnterEvent, TextMessage
from orderdesk.wecom.replies import CardReply, MarkdownReply, TextReply, UpdateCardReply


def test_card_xml_follows_the_passive_reply_element_names() -> None:
    card = {
        "card_type": "vote_interaction",
        "checkbox": {
            "question_key": "q",
            "option_list": [{"id": "a", "text": "A", "is_checked": True}],
            "mode": 1,
        },
        "submit_button": {"text": "提交", "key": "k"},
        "replace_text": "已提交",
        "jump_list": [{"type": 2, "appid": "wx1", "pagepath": "pages/x", "title": "t"}],
    }
    root = fromstring(f"<TemplateCard>{card_xml(card)}</TemplateCard>")
    assert root.findtext("CheckBox/OptionList/Id") == "a"
    assert root.findtext("CheckBox/OptionList/IsChecked") == "true"
    assert root.findtext("CheckBox/Mode") == "1"
    assert root.findtext("SubmitButton/Key") == "k"
    assert root.findtext("JumpList/AppId") == "wx1"
    assert root.findtext("JumpList/PagePath") == "pages/x"


def test_cdata_survives_its_own_terminator() -> None:
    text = "a]]>b<c>&d"
    assert fromstring(f"<x>{cdata(text)}</x>").text == text


def test_app_text_reply_is_cut_at_2048_bytes() -> None:
    event = TextMessage(channel="app", user_id="u", create_time=1, content="x", msg_id="1")
    body = render(TextReply("订" * 1000), event, corp_id="ww1", now=5).body
    content = fromstring(body).findtext("Content") or ""
    assert len(content.encode()) <= 2048 and content.endswith("…")


def test_late_card_update_uses_the_response_code() -> None:
    event = CardEvent(
        channel="app", user_id="u1", create_time=1, event_key="k", task_id="t", response_code="RC"
    )
    [item] = late_messages(UpdateCardReply(replace_name="已同意"), event)
    assert (item.channel, item.recipient) == ("card_update", "u1")
    assert item.payload == {
        "userids": ["u1"],
        "response_code": "RC",
        "button": {"replace_name": "已同意"},
    }


def test_late_bot_reply_without_response_url_never_goes_through_the_app() -> None:
    # The app's message/send is another chat (the user's 1:1 with the app): wrong channel.
    event = TextMessage(channel="bot", user_id="u1", create_time=1, content="x", msg_id="9")
    assert late_messages(MarkdownReply("**好**"), event) == []
    enter = EnterEvent(channel="bot", user_id="u1", create_time=1, msg_id="e1")
    assert late_messages(TextReply("欢迎"), enter) == []


def _bot_text(chat_type: str) -> TextMessage:
    return TextMessage(
        channel="bot",
        user_id="u1",
        create_time=1,
        content="x",
        msg_id="9",
        chat_id="g1" if chat_type == "group" else None,
        chat_type="group" if chat_type == "group" else "single",
        response_url="https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code=r",
    )


def test_late_card_through_response_url_is_markdown_in_a_group() -> None:
    # D:101138: template_card through response_url only when the callback came from a single chat.
    card = cards.text_notice(task_id="q-1", title="SO-1", fields=[("客户", "华东")])
    [item] = late_messages(CardReply(card), _bot_text("group"))
    assert item.channel == "bot_response" and item.payload["msgtype"] == "markdown"
    assert "SO-1" in item.payload["markdown"]["content"]
    assert "华东" in item.payload["markdown"]["content"]
    [single] = late_messages(CardReply(card), _bot_text("single"))
    assert single.payload == {"msgtype": "template_card", "template_card": card}
