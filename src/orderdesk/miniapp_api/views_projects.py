"""Projects: detail (tasks, milestones, hours), timesheets, task status, milestone acceptance."""

from __future__ import annotations

from datetime import date

from orderdesk.core.parsing import DAY_RULE_ZH, parse_day
from orderdesk.miniapp_api import serialize
from orderdesk.miniapp_api.errors import ApiError
from orderdesk.miniapp_api.registry import Ctx, Reply, endpoint
from orderdesk.miniapp_api.schemas import (
    DATE_PATTERN,
    DECIMAL_INPUT,
    ID,
    INT,
    NSTR,
    STR,
    array,
    nullable,
    obj,
    r,
)
from orderdesk.models import Milestone, Project, Task
from orderdesk.orders.lookups import get_project, get_task
from orderdesk.projects import members, tasks
from orderdesk.projects import service as projects

CODE = {"code": {"type": "string", "minLength": 1, "maxLength": 32, "description": "项目编号"}}
TASK = obj(
    {
        "id": INT,
        "title": STR,
        "status": STR,
        "owner": nullable(r("StaffRef")),
        "due_date": r("DateOrNull"),
        "done_at": r("DateTimeOrNull"),
    }
)
MILESTONE = obj(
    {
        "id": INT,
        "sequence": INT,
        "name": STR,
        "status": STR,
        "due_date": r("DateOrNull"),
        "accepted_at": r("DateTimeOrNull"),
        "requires_signoff": {"type": "boolean", "description": "验收前需客户确认交付物"},
    }
)
PROJECT = obj(
    {
        "code": STR,
        "name": STR,
        "status": STR,
        "order_number": STR,
        "pm": nullable(r("StaffRef")),
        "start_date": r("DateOrNull"),
        "end_date": r("DateOrNull"),
        "percent_done": INT,
        "next_milestone": NSTR,
        "hours_total": STR,
        "overdue_tasks": array(STR),
        "tasks": array(TASK),
        "milestones": array(MILESTONE),
    }
)
TIME_ENTRY = obj(
    {
        "id": INT,
        "hours": STR,
        "work_date": r("Date"),
        "note": NSTR,
        "task_id": {"type": ["integer", "null"]},
    }
)


def _task(ctx: Ctx, task: Task) -> dict[str, object]:
    return {
        "id": task.id,
        "title": task.title,
        "status": task.status,
        "owner": serialize.staff_ref(task.owner),
        "due_date": serialize.day(task.due_date),
        "done_at": serialize.when(task.done_at, ctx.tz),
    }


def _milestone(ctx: Ctx, m: Milestone) -> dict[str, object]:
    return {
        "id": m.id,
        "sequence": m.sequence,
        "name": m.name,
        "status": m.status,
        "due_date": serialize.day(m.due_date),
        "accepted_at": serialize.when(m.accepted_at, ctx.tz),
        "requires_signoff": m.requires_signoff,
    }


def project_body(ctx: Ctx, project: Project) -> dict[str, object]:
    summary = projects.project_summary(ctx.session, project)
    return {
        "code": project.code,
        "name": project.name,
        "status": project.status,
        "order_number": project.order.number,
        "pm": serialize.staff_ref(project.pm),
        "start_date": serialize.day(project.start_date),
        "end_date": serialize.day(project.end_date),
        "percent_done": summary.percent_done,
        "next_milestone": summary.next_milestone,
        "hours_total": f"{summary.hours_total:f}",
        "overdue_tasks": list(summary.overdue_tasks),
        "tasks": [_task(ctx, t) for t in project.tasks],
        "milestones": [_milestone(ctx, m) for m in project.milestones],
    }


@endpoint(
    "GET",
    "/projects/<code>",
    tag="projects",
    summary="项目详情(任务、里程碑、工时)",
    path_schemas=CODE,
    responses={200: PROJECT},
)
def project_detail(ctx: Ctx, code: str) -> Reply:
    return project_body(ctx, get_project(ctx.session, actor=ctx.actor, code=code))


@endpoint(
    "POST",
    "/projects/<code>/timesheets",
    tag="projects",
    summary="登记工时",
    path_schemas=CODE,
    body=obj(
        {"hours": {**DECIMAL_INPUT, "description": '小时数,如 "2.5"'}},
        {
            "note": {"type": "string", "maxLength": 500},
            "work_date": {"type": "string", "pattern": DATE_PATTERN, "description": "默认今天"},
            "task_id": ID,
        },
    ),
    responses={201: TIME_ENTRY},
    errors=(403,),
)
def log_hours(ctx: Ctx, code: str) -> Reply:
    project = get_project(ctx.session, actor=ctx.actor, code=code)
    work_date = None
    if "work_date" in ctx.body:
        work_date = parse_day(ctx.body["work_date"])
        if work_date is None:
            raise ApiError(422, fields={"work_date": f"日期无效({DAY_RULE_ZH})"})
    entry = projects.log_hours(
        ctx.session,
        actor=ctx.actor,
        ref=project.code,
        hours=ctx.body["hours"],
        note=ctx.body.get("note"),
        work_date=work_date,
        task_id=ctx.body.get("task_id"),
    )
    ctx.session.flush()
    body = {
        "id": entry.id,
        "hours": f"{entry.hours:f}",
        "work_date": serialize.day(entry.work_date),
        "note": entry.note,
        "task_id": entry.task_id,
    }
    return body, 201


@endpoint(
    "PATCH",
    "/projects/<code>/tasks/<int:task_id>",
    tag="projects",
    summary="更新任务:状态(todo / doing / done,成员可改);名称、负责人、截止日期(项目经理或其上级)",
    path_schemas=CODE,
    body={
        **obj(
            {},
            {
                "status": {"type": "string", "enum": ["todo", "doing", "done"]},
                "title": {"type": "string", "minLength": 1, "maxLength": 200},
                "owner_userid": {
                    "type": ["string", "null"],
                    "minLength": 1,
                    "maxLength": 64,
                    "description": "新负责人(null 为取消分配)",
                },
                "due_date": {"type": ["string", "null"], "pattern": DATE_PATTERN},
            },
        ),
        "minProperties": 1,
    },
    responses={200: TASK},
    errors=(403,),
)
def update_task(ctx: Ctx, code: str, task_id: int) -> Reply:
    task = get_task(ctx.session, actor=ctx.actor, code=code, task_id=task_id)
    body = ctx.body
    if body.keys() & {"title", "owner_userid", "due_date"}:
        who, due = body.get("owner_userid"), body.get("due_date")
        tasks.edit_task(
            ctx.session,
            actor=ctx.actor,
            task=task,
            title=body.get("title"),
            owner=tasks.UNSET
            if "owner_userid" not in body
            else (tasks.find_assignee(ctx.session, who) if who else None),
            due_date=tasks.UNSET if "due_date" not in body else (_due(due) if due else None),
        )
    if "status" in ctx.body:
        task = projects.update_task(
            ctx.session, actor=ctx.actor, task_id=task_id, status=ctx.body["status"]
        )
    return _task(ctx, task)


@endpoint(
    "DELETE",
    "/projects/<code>/tasks/<int:task_id>",
    tag="projects",
    summary="删除任务(项目经理或其上级;已有工时的任务不能删除)",
    path_schemas=CODE,
    responses={204: None},
    errors=(403, 409),
)
def delete_task(ctx: Ctx, code: str, task_id: int) -> None:
    task = get_task(ctx.session, actor=ctx.actor, code=code, task_id=task_id)
    tasks.delete_task(ctx.session, actor=ctx.actor, task=task)


def _due(raw: str) -> date:
    due = parse_day(raw)
    if due is None:
        raise ApiError(422, fields={"due_date": f"日期无效({DAY_RULE_ZH})"})
    return due


@endpoint(
    "POST",
    "/projects/<code>/milestones/<int:milestone_id>/accept",
    tag="projects",
    summary="确认里程碑验收(触发对应的收款节点)",
    path_schemas=CODE,
    responses={200: MILESTONE},
    errors=(403, 409),
)
def accept_milestone(ctx: Ctx, code: str, milestone_id: int) -> Reply:
    project = get_project(ctx.session, actor=ctx.actor, code=code)
    milestone = projects.accept_milestone(
        ctx.session, actor=ctx.actor, project_code=project.code, milestone_id=milestone_id
    )
    return _milestone(ctx, milestone)


# -- issue 12c: tasks created from the API (the same service as chat `任务 … 新增`) ----------


@endpoint(
    "POST",
    "/projects/<code>/tasks",
    tag="projects",
    summary="新增任务(项目经理或其上级):名称、负责人、截止日期",
    path_schemas=CODE,
    body=obj(
        {"title": {"type": "string", "minLength": 1, "maxLength": 200}},
        {
            "owner_userid": {"type": "string", "minLength": 1, "maxLength": 64},
            "due_date": {"type": "string", "pattern": DATE_PATTERN},
        },
    ),
    responses={201: TASK},
    errors=(403,),
)
def create_task(ctx: Ctx, code: str) -> Reply:
    project = get_project(ctx.session, actor=ctx.actor, code=code)
    due = None
    if "due_date" in ctx.body:
        due = parse_day(ctx.body["due_date"])
        if due is None:
            raise ApiError(422, fields={"due_date": f"日期无效({DAY_RULE_ZH})"})
    owner = None
    if "owner_userid" in ctx.body:
        owner = tasks.find_assignee(ctx.session, ctx.body["owner_userid"])
    task = tasks.create_task(
        ctx.session,
        actor=ctx.actor,
        ref=project.code,
        title=ctx.body["title"],
        owner=owner,
        due_date=due,
    )
    return _task(ctx, task), 201


# -- issue 12: the project team (the same service as chat `成员 PRJ-… 添加 @郑凯`) ---------------

MEMBERS = obj({"code": STR, "members": array(r("StaffRef"))})
MEMBER_BODY = obj({"userid": {"type": "string", "minLength": 1, "maxLength": 64}})


def _members(project: Project) -> dict[str, object]:
    return {
        "code": project.code,
        "members": [serialize.staff_ref(p) for p in projects.members(project)],
    }


@endpoint(
    "GET",
    "/projects/<code>/members",
    tag="projects",
    summary="项目成员(项目经理、订单负责人、任务负责人与手动添加的成员)",
    path_schemas=CODE,
    responses={200: MEMBERS},
)
def list_members(ctx: Ctx, code: str) -> Reply:
    return _members(get_project(ctx.session, actor=ctx.actor, code=code))


@endpoint(
    "POST",
    "/projects/<code>/members",
    tag="projects",
    summary="添加项目成员(项目经理或其上级);成员可查看订单(无金额)、记录进展、登记工时",
    path_schemas=CODE,
    body=MEMBER_BODY,
    responses={201: MEMBERS},
    errors=(403, 409),
)
def add_member(ctx: Ctx, code: str) -> Reply:
    project = get_project(ctx.session, actor=ctx.actor, code=code)
    person = tasks.find_assignee(ctx.session, ctx.body["userid"])
    members.add_member(ctx.session, actor=ctx.actor, ref=project.code, person=person)
    return _members(project), 201


@endpoint(
    "DELETE",
    "/projects/<code>/members/<userid>",
    tag="projects",
    summary="移除手动添加的项目成员(项目经理或其上级)",
    path_schemas={**CODE, "userid": {"type": "string", "minLength": 1, "maxLength": 64}},
    responses={204: None},
    errors=(403,),
)
def remove_member(ctx: Ctx, code: str, userid: str) -> None:
    project = get_project(ctx.session, actor=ctx.actor, code=code)
    person = tasks.find_assignee(ctx.session, userid)
    members.remove_member(ctx.session, actor=ctx.actor, ref=project.code, person=person)
