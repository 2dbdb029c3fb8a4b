"""任务 / task: list a project's tasks, or add one (`任务 PRJ-… 新增 数据迁移 @郑凯 12-20`)."""

from __future__ import annotations

from orderdesk.bot.bound import bound_order_number
from orderdesk.bot.parsing import (
    BadArguments,
    looks_like_date,
    order_ref,
    parse_date,
    split_args,
)
from orderdesk.bot.router import Context, router
from orderdesk.core import clock
from orderdesk.projects import service as projects
from orderdesk.projects import tasks
from orderdesk.wecom.replies import Reply, TextReply

ADD_WORDS = ("新增", "添加", "add", "new")


@router.command(
    "任务",
    "task",
    "tasks",
    summary="查看项目任务,或新增任务(项目经理)",
    usage="任务 <项目编号|订单号> [新增 <任务名> [@负责人] [截止日期]]",
    example="任务 SO-2026-0001 新增 数据迁移 @郑凯 12-20",
    internal_only=True,
)
def task_command(ctx: Context) -> Reply:
    parts = split_args(ctx.args, 1)
    bound = bound_order_number(ctx)
    if bound is not None and (not parts or parts[0].lower() in ADD_WORDS):
        parts = [bound, *([ctx.args.strip()] if ctx.args.strip() else [])]
    if not parts:
        raise BadArguments("请写上项目编号或订单号")
    ref = order_ref(parts[0])
    rest = split_args(parts[1], 1) if len(parts) > 1 else []
    if not rest:
        return _list_tasks(ctx, ref)
    if rest[0].lower() not in ADD_WORDS:
        raise BadArguments("看不懂要做什么,新增任务请写「新增」")
    return _add_task(ctx, ref, rest[1] if len(rest) > 1 else "")


def _list_tasks(ctx: Context, ref: str) -> Reply:
    project = projects.find_project(ctx.session, ref, actor=ctx.actor)
    if not project.tasks:
        return TextReply(f"{project.code} 还没有任务")
    lines = [f"{project.code} 的任务:"]
    for task in project.tasks:
        who = task.owner.name if task.owner else "未分配"
        due = f" 截止 {task.due_date.isoformat()}" if task.due_date else ""
        lines.append(f"· {task.title}({projects.TASK_STATUSES[task.status]},{who}{due})")
    return TextReply("\n".join(lines))


def _add_task(ctx: Context, ref: str, text: str) -> Reply:
    """`数据迁移 @郑凯 12-20`: the title, then optional @owner and due date at the end."""

    words = text.split()
    due = None
    if words and looks_like_date(words[-1]):
        due = parse_date(words.pop(), today=clock.today(ctx.rt.settings.tz))
    owner = None
    if words and words[-1].startswith("@"):
        owner = tasks.find_assignee(ctx.session, words.pop())
    if not words:
        raise BadArguments("请写上任务名称")
    task = tasks.create_task(
        ctx.session, actor=ctx.actor, ref=ref, title=" ".join(words), owner=owner, due_date=due
    )
    said = f"已新增任务「{task.title}」"
    if owner is not None:
        said += f",负责人 {owner.name}"
    if due is not None:
        said += f",截止 {due.isoformat()}"
    return TextReply(said)
