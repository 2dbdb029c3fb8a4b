"""Arbitrary text: the bot never raises, never answers "系统繁忙", and always replies."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orderdesk.bot.router import router
from orderdesk.wecom.replies import CardReply, MarkdownReply, TextReply
from tests.chat_world import Co, company, text  # noqa: F401 - provides the `co` fixture

COMMANDS = [
    "查", "order", "我的", "待审批", "批准", "驳回", "进度", "工时", "回款", "逾期", "绑定",
    "解绑", "帮助", "ＨＥＬＰ", "查询", "paid", "hours",
]  # fmt: skip
PIECES = st.sampled_from(
    ["SO-2026-0001", "SO-2026-0002", "so-2026-3", "1.2万", "¥12,000.00", "12/1", "今天", "25",
     "星海", "客户群", "-1", "NaN", "１２", "\u3000", "0.001", "9" * 30]
)  # fmt: skip
MESSAGES = st.one_of(
    st.text(max_size=80),
    st.tuples(
        st.sampled_from(COMMANDS), st.lists(st.one_of(PIECES, st.text(max_size=12)), max_size=4)
    ).map(lambda t: " ".join([t[0], *t[1]])),
)


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    content=MESSAGES,
    user=st.sampled_from(["sales1", "fin1", "mgr1", "dev1"]),
    group=st.sampled_from([None, "grp-any"]),
)
def test_any_text_gets_a_reply(co: Co, content: str, user: str, group: str | None) -> None:
    reply = router.dispatch(text(user, content, group=group), co.rt)
    assert isinstance(reply, TextReply | MarkdownReply | CardReply)
    if isinstance(reply, TextReply | MarkdownReply):
        assert reply.content.strip()
        assert "系统繁忙" not in reply.content, (content, reply.content)
