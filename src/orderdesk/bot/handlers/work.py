"""进度 / log and 工时 / hours: what delivery people report from the chat."""

from __future__ import annotations

from typing import TYPE_CHECKING

from orderdesk.bot.bound import bound_order_number, names_order
from orderdesk.bot.parsing import BadArguments, order_ref, parse_hours, split_args
from orderdesk.bot.router import Context, router
from orderdesk.core.errors import ValidationFailed
from orderdesk.orders import service as orders
from orderdesk.orders.attachments import store_file
from orderdesk.projects import service as projects
from orderdesk.wecom import media
from orderdesk.wecom.errors import WeComError
from orderdesk.wecom.events import TextMessage
from orderdesk.wecom.replies import Reply, TextReply

if TYPE_CHECKING:
    from orderdesk.models import Attachment


@router.command(
    "进度",
    "log",
    "progress",
    summary="记一条订单进度(写入时间线,并推送到绑定的项目群)",
    usage="进度 <订单号> <内容>(绑定订单的群里可省略订单号)",
    example="进度 SO-2026-0001 完成需求调研,下周提交方案",
    mutates=True,
)
def progress_command(ctx: Context) -> Reply:
    images = ctx.event.images if isinstance(ctx.event, TextMessage) else ()
    parts = split_args(ctx.args, 1)
    bound = bound_order_number(ctx)
    if bound is not None and not (parts and names_order(parts[0])):
        # A bound group: everything typed is the progress text.
        parts = [bound, *([ctx.args.strip()] if ctx.args.strip() else [])]
    if not parts or (len(parts) < 2 and not images):
        raise BadArguments("请写上订单号和进度内容")
    number = order_ref(parts[0])
    files = _photos(ctx, images)
    text = parts[1] if len(parts) > 1 else ""
    activity = orders.add_progress(
        ctx.session, actor=ctx.actor, number=number, text=text, files=files
    )
    pushed = activity.data.get("pushed_groups", 0)
    said = f"已记录 {number} 的进度" + (f"(含 {len(files)} 张图片)" if files else "")
    return TextReply(said + (f",已推送到 {pushed} 个项目群" if pushed else ""))


def _photos(ctx: Context, urls: tuple[str, ...]) -> list[Attachment]:
    """The images of a bot `mixed` message, downloaded and stored (nothing is recorded when
    one cannot be had: the user sends it again)."""
    stored = []
    for index, url in enumerate(urls, start=1):
        try:
            image = media.bot_image(ctx.rt.settings, url, index=index)
        except WeComError as exc:
            raise ValidationFailed("图片下载失败(链接只在几分钟内有效),请重新发送") from exc
        stored.append(
            store_file(
                ctx.session,
                rt_settings=ctx.rt.settings,
                actor=ctx.actor,
                name=image.name,
                content=image.content,
                content_type="application/octet-stream",
            )
        )
    return stored


@router.command(
    "工时",
    "hours",
    summary="记今天的工时(0 < 小时 ≤ 24)",
    usage="工时 <订单号|项目编号> <小时> [内容](绑定订单的群里可省略订单号)",
    example="工时 SO-2026-0001 2.5 需求访谈",
    mutates=True,
)
def hours_command(ctx: Context) -> Reply:
    parts = split_args(ctx.args, 2)
    bound = bound_order_number(ctx)
    if bound is not None and parts and _is_hours(parts[0]):
        # A bound group: `工时 2 数据字典梳理` means 2 hours on the bound order.
        parts = [bound, *split_args(ctx.args, 1)]
    if len(parts) < 2:
        raise BadArguments("请写上订单号(或项目编号)和小时数")
    ref = order_ref(parts[0])
    hours = parse_hours(parts[1])
    note = parts[2] if len(parts) > 2 else None
    entry = projects.log_hours(ctx.session, actor=ctx.actor, ref=ref, hours=hours, note=note)
    return TextReply(f"已记录工时 {hours} 小时({entry.work_date.isoformat()},{ref})")


def _is_hours(word: str) -> bool:
    try:
        parse_hours(word)
    except BadArguments:
        return False
    return True
