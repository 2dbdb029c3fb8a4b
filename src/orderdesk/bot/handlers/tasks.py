"""任务 / task: list a project's tasks, add one (`任务 PRJ-… 新增 数据迁移 @郑凯 12-20`), reassign
or move one (`任务 PRJ-… 转给 数据迁移 @冯雪 12-28`), delete one (`任务 PRJ-… 删除 数据迁移`).
成员 / member: list the team, add or remove someone (`成员 PRJ-… 添加 @郑凯`)."""

from __future__ import annotations

from datetime import date

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
from orderdesk.models import Staff
from orderdesk.projects import members, tasks
from orderdesk.projects import service as projects
from orderdesk.wecom.replies import Reply, TextReply

ADD_WORDS = ("新增", "添加", "add", "new")
REASSIGN_WORDS = ("转给", "改派", "指派", "调整", "reassign", "assign", "move")
DELETE_WORDS = ("删除", "delete", "remove")
TASK_WORDS = ADD_WORDS + REASSIGN_WORDS + DELETE_WORDS


@router.command(
    "任务",
    "task",
    "tasks",
    summary="查看项目任务;新增、转给他人、改截止日期、删除任务(项目经理)",
    usage="任务 <项目编号|订单号> [新增 <任务名> [@负责人] [截止日期] | 转给 <任务名|编号> "
    "[@负责人] [截止日期] | 删除 <任务名|编号>]",
    example="任务 SO-2026-0001 新增 数据迁移 @郑凯 12-20",
    internal_only=True,
)
def task_command(ctx: Context) -> Reply:
    parts = split_args(ctx.args, 1)
    bound = bound_order_number(ctx)
    if bound is not None and (not parts or parts[0].lower() in TASK_WORDS):
        parts = [bound, *([ctx.args.strip()] if ctx.args.strip() else [])]
    if not parts:
        raise BadArguments("请写上项目编号或订单号")
    ref = order_ref(parts[0])
    rest = split_args(parts[1], 1) if len(parts) > 1 else []
    if not rest:
        return _list_tasks(ctx, ref)
    word, text = rest[0].lower(), rest[1] if len(rest) > 1 else ""
    if word in ADD_WORDS:
        return _add_task(ctx, ref, text)
    if word in REASSIGN_WORDS:
        return _reassign_task(ctx, ref, text)
    if word in DELETE_WORDS:
        task = tasks.planned_task(ctx.session, actor=ctx.actor, ref=ref, task_ref=text)
        tasks.delete_task(ctx.session, actor=ctx.actor, task=task)
        return TextReply(f"已删除任务「{task.title}」")
    raise BadArguments("看不懂要做什么:请写「新增」「转给」或「删除」")


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


def _tail(ctx: Context, text: str) -> tuple[list[str], Staff | None, date | None]:
    """`数据迁移 @郑凯 12-20`: the words of the title, then the optional @owner and due date."""
    words = text.split()
    due = None
    if words and looks_like_date(words[-1]):
        due = parse_date(words.pop(), today=clock.today(ctx.rt.settings.tz))
    owner = None
    if words and words[-1].startswith("@"):
        owner = tasks.find_assignee(ctx.session, words.pop())
    if not words:
        raise BadArguments("请写上任务名称")
    return words, owner, due


def _reassign_task(ctx: Context, ref: str, text: str) -> Reply:
    words, owner, due = _tail(ctx, text)
    if owner is None and due is None:
        raise BadArguments("请写上新的负责人(@姓名)或截止日期")
    task = tasks.planned_task(ctx.session, actor=ctx.actor, ref=ref, task_ref=" ".join(words))
    before = (task.owner, task.due_date)
    tasks.edit_task(
        ctx.session,
        actor=ctx.actor,
        task=task,
        owner=owner if owner is not None else tasks.UNSET,
        due_date=due if due is not None else tasks.UNSET,
    )
    said = f"任务「{task.title}」"
    if owner is not None:
        said += f":负责人 {before[0].name if before[0] else '未分配'} → {owner.name}"
    if due is not None:
        said += f";截止 {before[1].isoformat() if before[1] else '无'} → {due.isoformat()}"
    return TextReply(said)


def _add_task(ctx: Context, ref: str, text: str) -> Reply:
    words, owner, due = _tail(ctx, text)
    task = tasks.create_task(
        ctx.session, actor=ctx.actor, ref=ref, title=" ".join(words), owner=owner, due_date=due
    )
    said = f"已新增任务「{task.title}」"
    if owner is not None:
        said += f",负责人 {owner.name}"
    if due is not None:
        said += f",截止 {due.isoformat()}"
    return TextReply(said)


MEMBER_ADD = ("添加", "新增", "加入", "add")
MEMBER_REMOVE = ("移除", "删除", "remove", "delete")


@router.command(
    "成员",
    "member",
    "members",
    summary="查看项目成员,或添加 / 移除成员(项目经理)",
    usage="成员 <项目编号|订单号> [添加|移除 @姓名]",
    example="成员 SO-2026-0001 添加 @郑凯",
    internal_only=True,
)
def member_command(ctx: Context) -> Reply:
    parts = split_args(ctx.args, 1)
    bound = bound_order_number(ctx)
    if bound is not None and (not parts or parts[0].lower() in MEMBER_ADD + MEMBER_REMOVE):
        parts = [bound, *([ctx.args.strip()] if ctx.args.strip() else [])]
    if not parts:
        raise BadArguments("请写上项目编号或订单号")
    ref = order_ref(parts[0])
    rest = split_args(parts[1], 1) if len(parts) > 1 else []
    if not rest:
        project = projects.find_project(ctx.session, ref, actor=ctx.actor)
        names = "、".join(p.name for p in projects.members(project))
        return TextReply(f"{project.code} 的成员:{names}")
    word = rest[0].lower()
    if word not in MEMBER_ADD + MEMBER_REMOVE or len(rest) < 2:
        raise BadArguments("请写「成员 <项目> 添加 @姓名」或「成员 <项目> 移除 @姓名」")
    person = tasks.find_assignee(ctx.session, rest[1])
    if word in MEMBER_ADD:
        project = members.add_member(ctx.session, actor=ctx.actor, ref=ref, person=person)
        return TextReply(f"已将 {person.name} 加入项目 {project.code}")
    project = members.remove_member(ctx.session, actor=ctx.actor, ref=ref, person=person)
    return TextReply(f"已将 {person.name} 移出项目 {project.code}")


@router.command(
    "验收",
    "accept",
    summary="确认项目里程碑已验收(项目经理、订单负责人或经理),对应的收款分期开始计时",
    usage="验收 <项目编号|订单号> <里程碑名称>",
    example="验收 SO-2026-0001 上线",
    mutates=True,
    internal_only=True,
)
def accept_command(ctx: Context) -> Reply:
    parts = split_args(ctx.args, 1)
    bound = bound_order_number(ctx)
    if bound is not None and len(parts) < 2:
        parts = [bound, *parts]  # a bound group: `验收 上线`
    if len(parts) < 2:
        raise BadArguments("请写上项目编号(或订单号)和里程碑名称")
    project = projects.find_project(ctx.session, order_ref(parts[0]), actor=ctx.actor)
    wanted = parts[1].strip()
    found = [m for m in project.milestones if m.name == wanted]
    if not found:
        names = "、".join(m.name for m in project.milestones) or "无"
        raise BadArguments(f"{project.code} 没有里程碑「{wanted[:20]}」(现有:{names})")
    milestone = projects.accept_milestone(
        ctx.session, actor=ctx.actor, project_code=project.code, milestone_id=found[0].id
    )
    return TextReply(f"已确认 {project.code} 里程碑「{milestone.name}」验收")
