"""Deliverables (issue 15): list and create a project's deliverables, upload versions, download
any version, create and revoke the client's sign-off link, require sign-off on a milestone.

`<code>` takes the project code or the order number. Every id is checked against the caller's
scope; one out of scope answers 404 like one that does not exist.
"""

from __future__ import annotations

from typing import Any

from flask import Response, send_file

from orderdesk.delivery import deliverables, signoff, status_links
from orderdesk.delivery.messages import DELIVERABLE_STATUS_ZH, SIGNOFF_ZH
from orderdesk.miniapp_api import serialize
from orderdesk.miniapp_api.errors import ApiError
from orderdesk.miniapp_api.registry import Ctx, Reply, endpoint
from orderdesk.miniapp_api.schemas import BOOL, ID, INT, NSTR, STR, array, nullable, obj, r
from orderdesk.miniapp_api.views_delivery import LINK_FIELDS
from orderdesk.models import ClientLink, Deliverable, DeliverableVersion
from orderdesk.orders.attachments import ALLOWED_TYPES, MAX_BYTES, Upload, download_of

CODE = {
    "code": {"type": "string", "minLength": 1, "maxLength": 32, "description": "项目编号或订单号"}
}
# The types an upload may have (orders.attachments): a download answers with its own type.
FILE_TYPES = tuple(sorted({t for types in ALLOWED_TYPES.values() for t in types}))
VERSION = obj(
    {
        "id": INT,
        "label": STR,
        "current": BOOL,
        "file_name": STR,
        "size": INT,
        "note": NSTR,
        "uploaded_by": nullable(r("StaffRef")),
        "uploaded_at": r("DateTime"),
        "signoff_status": NSTR,
        "signoff_status_zh": NSTR,
        "signoff_comment": NSTR,
        "signoff_at": r("DateTimeOrNull"),
        "download_url": STR,
    }
)
DELIVERABLE = obj(
    {
        "id": INT,
        "name": STR,
        "project_code": STR,
        "milestone_id": {"type": ["integer", "null"]},
        "status": STR,
        "status_zh": STR,
        "current": nullable(VERSION),
    }
)
DELIVERABLE_DETAIL = obj({**DELIVERABLE["properties"], "versions": array(VERSION)})
UPLOAD_FORM = {
    "type": "object",
    "properties": {
        "note": {"type": "string", "maxLength": deliverables.NOTE_MAX, "description": "版本说明"},
        "file": {
            "type": "array",
            "maxItems": 1,
            "items": {"type": "string", "contentMediaType": "application/octet-stream"},
            "description": f"文件(一个,不超过 {MAX_BYTES // 1024 // 1024} MB)",
        },
    },
    "additionalProperties": False,
}
ISSUED = obj(
    {
        **LINK_FIELDS,
        "version_id": INT,
        "url": {"type": "string", "description": "发给客户的确认链接(只显示这一次)"},
        "sent": {"type": "boolean", "description": "已生成企业微信客户群发任务(需发送人确认)"},
    }
)


def version_body(ctx: Ctx, v: DeliverableVersion) -> dict[str, Any]:
    return {
        "id": v.id,
        "label": v.label,
        "current": v.current,
        "file_name": v.attachment.name,
        "size": v.attachment.size,
        "note": v.note,
        "uploaded_by": serialize.staff_ref(v.uploaded_by),
        "uploaded_at": serialize.when(v.uploaded_at, ctx.tz),
        "signoff_status": v.signoff_status,
        "signoff_status_zh": SIGNOFF_ZH.get(v.signoff_status or ""),
        "signoff_comment": v.signoff_comment,
        "signoff_at": serialize.when(v.signoff_at, ctx.tz),
        "download_url": f"/api/v1/deliverable-versions/{v.id}/file",
    }


def deliverable_body(ctx: Ctx, d: Deliverable, *, versions: bool = False) -> dict[str, Any]:
    current = deliverables.current_version(d)
    body: dict[str, Any] = {
        "id": d.id,
        "name": d.name,
        "project_code": d.project.code,
        "milestone_id": d.milestone_id,
        "status": d.status,
        "status_zh": DELIVERABLE_STATUS_ZH.get(d.status, d.status),
        "current": version_body(ctx, current) if current else None,
    }
    if versions:
        body["versions"] = [version_body(ctx, v) for v in reversed(d.versions)]
    return body


@endpoint(
    "GET",
    "/projects/<code>/deliverables",
    tag="deliverables",
    summary="项目的交付物及当前版本",
    path_schemas=CODE,
    responses={200: obj({"items": array(DELIVERABLE)})},
)
def list_deliverables(ctx: Ctx, code: str) -> Reply:
    items = deliverables.list_deliverables(ctx.session, actor=ctx.actor, ref=code)
    return {"items": [deliverable_body(ctx, d) for d in items]}


@endpoint(
    "POST",
    "/projects/<code>/deliverables",
    tag="deliverables",
    summary="新增交付物(可关联里程碑)",
    path_schemas=CODE,
    body=obj(
        {"name": {"type": "string", "minLength": 1, "maxLength": deliverables.NAME_MAX}},
        {"milestone_id": ID},
    ),
    responses={201: DELIVERABLE},
    errors=(403,),
)
def create_deliverable(ctx: Ctx, code: str) -> Reply:
    d = deliverables.create_deliverable(
        ctx.session,
        actor=ctx.actor,
        ref=code,
        name=ctx.body["name"],
        milestone_id=ctx.body.get("milestone_id"),
    )
    return deliverable_body(ctx, d), 201


@endpoint(
    "GET",
    "/deliverables/<int:deliverable_id>",
    tag="deliverables",
    summary="交付物详情与全部版本(旧版本标为已取代)",
    responses={200: DELIVERABLE_DETAIL},
)
def deliverable_detail(ctx: Ctx, deliverable_id: int) -> Reply:
    d = deliverables.get_deliverable(ctx.session, actor=ctx.actor, deliverable_id=deliverable_id)
    return deliverable_body(ctx, d, versions=True)


@endpoint(
    "GET",
    "/deliverables/<int:deliverable_id>/versions",
    tag="deliverables",
    summary="交付物的版本(最新在前)",
    responses={200: obj({"items": array(VERSION)})},
)
def list_versions(ctx: Ctx, deliverable_id: int) -> Reply:
    d = deliverables.get_deliverable(ctx.session, actor=ctx.actor, deliverable_id=deliverable_id)
    return {"items": [version_body(ctx, v) for v in reversed(d.versions)]}


@endpoint(
    "POST",
    "/deliverables/<int:deliverable_id>/versions",
    tag="deliverables",
    summary="上传新版本(multipart:file + note),取代当前版本并通知项目群",
    multipart=UPLOAD_FORM,
    responses={201: VERSION},
    errors=(403,),
)
def upload_version(ctx: Ctx, deliverable_id: int) -> Reply:
    files = ctx.body.get("files", [])
    if len(files) != 1:
        raise ApiError(422, "请上传一个文件", fields={"file": "需要一个文件"})
    f = files[0]
    version = deliverables.upload_version(
        ctx.session,
        actor=ctx.actor,
        deliverable_id=deliverable_id,
        upload=Upload(f.filename or "file", f.read(), f.mimetype or "application/octet-stream"),
        note=ctx.body.get("note"),
        settings=ctx.rt.settings,
    )
    return version_body(ctx, version), 201


@endpoint(
    "GET",
    "/deliverable-versions/<int:version_id>/file",
    tag="deliverables",
    summary="下载某个版本(文件名为上传时的原名)",
    responses={200: None},
    downloads=FILE_TYPES,
)
def download_version(ctx: Ctx, version_id: int) -> Reply:
    version = deliverables.get_version(ctx.session, actor=ctx.actor, version_id=version_id)
    file = download_of(ctx.rt.settings, version.attachment)
    if not file.path.is_file():
        raise ApiError(404, "文件不存在")
    response: Response = send_file(
        file.path, mimetype=file.content_type, as_attachment=True, download_name=file.name
    )
    return response


@endpoint(
    "POST",
    "/deliverable-versions/<int:version_id>/signoff-links",
    tag="deliverables",
    summary="生成客户确认链接(当前版本;可同时生成企业微信客户群发任务)",
    body=obj(
        {},
        {
            "days": {"type": "integer", "minimum": 1, "maximum": status_links.MAX_DAYS},
            "send": {"type": "boolean", "description": "通过企业微信客户联系发送(需发送人确认)"},
        },
    ),
    responses={201: ISSUED},
    errors=(403, 409),
)
def create_signoff_link(ctx: Ctx, version_id: int) -> Reply:
    made = signoff.create_link(
        ctx.session,
        actor=ctx.actor,
        version_id=version_id,
        secret=ctx.rt.settings.secret_key,
        public_url=ctx.rt.settings.public_url,
        days=ctx.body.get("days"),
        send=bool(ctx.body.get("send")),
    )
    return {**_link(ctx, made.issued.link), "url": made.url, "sent": made.sent}, 201


SIGNOFF_LINK = obj({**LINK_FIELDS, "version_id": INT})


def _link(ctx: Ctx, link: ClientLink) -> dict[str, Any]:
    return {
        "id": link.id,
        "order_number": link.order.number,
        "created_at": serialize.when(link.created_at, ctx.tz),
        "expires_at": serialize.when(link.expires_at, ctx.tz),
        "revoked_at": serialize.when(link.revoked_at, ctx.tz),
        "views": link.views,
        "last_viewed_at": serialize.when(link.last_viewed_at, ctx.tz),
        "version_id": link.version_id,
    }


@endpoint(
    "GET",
    "/deliverable-versions/<int:version_id>/signoff-links",
    tag="deliverables",
    summary="某个版本的客户确认链接(查看次数、是否撤销;不含链接本身)",
    responses={200: obj({"items": array(SIGNOFF_LINK)})},
)
def list_signoff_links(ctx: Ctx, version_id: int) -> Reply:
    links = signoff.links_of(ctx.session, actor=ctx.actor, version_id=version_id)
    return {"items": [_link(ctx, link) for link in links]}


@endpoint(
    "POST",
    "/signoff-links/<int:link_id>/revoke",
    tag="deliverables",
    summary="撤销客户确认链接",
    responses={200: SIGNOFF_LINK},
    errors=(403,),
)
def revoke_signoff_link(ctx: Ctx, link_id: int) -> Reply:
    return _link(ctx, signoff.revoke_link(ctx.session, actor=ctx.actor, link_id=link_id))


@endpoint(
    "PUT",
    "/projects/<code>/milestones/<int:milestone_id>/signoff-required",
    tag="deliverables",
    summary="设置里程碑验收前是否需要客户确认其交付物",
    path_schemas=CODE,
    body=obj({"required": BOOL}),
    responses={200: obj({"id": INT, "name": STR, "requires_signoff": BOOL})},
    errors=(403,),
)
def milestone_signoff(ctx: Ctx, code: str, milestone_id: int) -> Reply:
    m = deliverables.set_signoff_required(
        ctx.session,
        actor=ctx.actor,
        ref=code,
        milestone_id=milestone_id,
        required=ctx.body["required"],
    )
    return {"id": m.id, "name": m.name, "requires_signoff": m.requires_signoff}
