"""帮助 / help and the welcome shown on entering the app or a chat."""

from __future__ import annotations

from orderdesk.bot.parsing import BadArguments
from orderdesk.bot.render import command_help, help_text, welcome_text
from orderdesk.bot.router import Context, router
from orderdesk.wecom.replies import Reply, TextReply


@router.command(
    "帮助",
    "help",
    "?",
    summary="列出命令,或查看一个命令的用法",
    usage="帮助 [命令]",
    example="帮助 回款",
)
def help_command(ctx: Context) -> Reply:
    if not ctx.args:
        return TextReply(help_text(router.unique_commands()))
    cmd = router.lookup(ctx.args.split()[0])
    if cmd is None:
        raise BadArguments(f"没有「{ctx.args.split()[0]}」这个命令")
    return TextReply(command_help(cmd))


@router.on_enter
def welcome(ctx: Context) -> Reply:
    return TextReply(welcome_text(ctx.staff.name if ctx.staff else None))
