"""`orderdesk chat` / `orderdesk click`: real encrypted callbacks, decrypted replies, outbox."""

from __future__ import annotations

from collections.abc import Iterator

import click
import pytest
from click.testing import CliRunner
from prometheus_client import REGISTRY

from orderdesk.bot import deadline
from orderdesk.bot.router import Context, router
from orderdesk.cli.chat import exchange, register
from orderdesk.wecom import signing
from orderdesk.wecom.replies import CardReply, Reply, TextReply
from tests import callback_world
from tests.callback_world import World

# The scenario fixtures (module-scoped runtime, per-test world).
edge_rt = callback_world.edge_rt
world = callback_world.world


def test_exchange_in_process_shows_reply_and_outbox(world: World) -> None:
    @world.router.command("卡片")
    def card(ctx: Context) -> Reply | None:
        return CardReply({"card_type": "text_notice", "main_title": {"title": "SO-1"}})

    result = exchange(
        world.settings,
        signing.app_text(world.settings, "zhangsan", "回声 hi"),
        app=world.app,
        db=world.rt.db,
    )
    assert (result.status, result.outbox) == (200, [])
    assert result.reply is not None and "回声:hi" in result.reply
    result = exchange(
        world.settings,
        signing.app_text(world.settings, "zhangsan", "卡片"),
        app=world.app,
        db=world.rt.db,
    )
    assert result.reply is None
    [msg] = result.outbox
    assert (msg["channel"], msg["recipient"]) == ("app_message", "zhangsan")


def test_exchange_waits_for_a_late_reply(world: World) -> None:
    world.rt.settings = world.rt.settings.with_overrides(handler_budget_seconds=0.1)
    world.release.set()  # the slow handler finishes right after the budget

    @world.router.command("迟")
    def late(ctx: Context) -> Reply | None:
        import time

        time.sleep(0.3)
        return TextReply("迟到的回复")

    def late_replies() -> float:
        sample = REGISTRY.get_sample_value(
            "orderdesk_callback_late_replies_total", {"channel": "bot"}
        )
        return sample or 0.0

    before = late_replies()
    req = signing.bot_text(world.settings, "zhangsan", "迟", chat_id="g1")
    result = exchange(world.settings, req, app=world.app, db=world.rt.db, wait=5)
    assert result.reply is not None and "处理中" in result.reply
    [msg] = result.outbox
    assert msg["channel"] == "bot_response"
    assert msg["payload"]["markdown"]["content"] == "迟到的回复"
    assert deadline.drain()  # the late handler has finished (and counted) before we look
    assert late_replies() == before + 1


def test_exchange_reports_a_refused_callback(world: World) -> None:
    req = signing.seal(world.settings, "app", "<xml>", receive_id="wwother")
    result = exchange(world.settings, req, app=world.app, db=world.rt.db)
    assert result.status == 403


@pytest.fixture
def cli_env(world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[click.Group]:
    s = world.settings
    for name, value in {
        "DATABASE_URL": s.database_url,
        "REDIS_URL": s.redis_url,
        "REDIS_NAMESPACE": s.redis_namespace,
        "JOBS_SYNC": "true",
        "WECOM_API_BASE": s.wecom_api_base,
    }.items():
        monkeypatch.setenv(name, value)

    @click.group()
    def main() -> None:
        pass

    register(main)

    # `--local` serves with the real router: add a throw-away command and remove it afterwards.
    @router.command("回声测试")
    def echo(ctx: Context) -> Reply | None:
        return TextReply(f"收到:{ctx.args}")

    @router.action("clitest:")
    def clicked(ctx: Context) -> Reply | None:
        from orderdesk.wecom.replies import UpdateCardReply

        return UpdateCardReply(replace_name=f"已点 {ctx.args}")

    yield main
    router.commands.pop("回声测试", None)
    router.actions[:] = [a for a in router.actions if a[0] != "clitest:"]


def test_chat_and_click_commands_local(cli_env: click.Group) -> None:
    runner = CliRunner()
    out = runner.invoke(cli_env, ["chat", "--local", "--as", "zhangsan", "回声测试", "你好"])
    assert out.exit_code == 0, out.output
    assert "app XML 1:1" in out.output and "收到:你好" in out.output and "outbox (0)" in out.output
    out = runner.invoke(
        cli_env, ["chat", "--local", "--as", "lisi", "--group", "wrkG1", "回声测试 群"]
    )
    assert out.exit_code == 0, out.output
    assert "bot JSON" in out.output and "[stream]" in out.output and "收到:群" in out.output
    out = runner.invoke(cli_env, ["click", "--local", "--as", "lisi", "--task", "t-1", "clitest:7"])
    assert out.exit_code == 0, out.output
    assert "[update_button] 已点 7" in out.output


def test_chat_to_an_unreachable_server_is_a_clear_error(cli_env: click.Group) -> None:
    out = CliRunner().invoke(
        cli_env, ["chat", "--url", "http://127.0.0.1:9", "--as", "zhangsan", "回声测试 x"]
    )
    assert out.exit_code != 0
    assert "无法连接" in out.output
