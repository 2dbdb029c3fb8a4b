"""Attachments: the files of an order, a project, a contract (list), one file (download with
its original name), and uploading files to a contract."""

from __future__ import annotations

from flask import Response

from orderdesk.core.formatting import attachment_disposition
from orderdesk.miniapp_api import serialize
from orderdesk.miniapp_api.registry import Ctx, Reply, endpoint
from orderdesk.miniapp_api.schemas import ID, array, obj, r
from orderdesk.orders import files
from orderdesk.orders.attachments import ALLOWED_TYPES, MAX_FILES, Upload, open_path

FILES = obj({"items": array(r("AttachmentRef"))})
NO = {"no": {"type": "string", "minLength": 1, "maxLength": 32, "description": "订单号"}}
CODE = {"code": {"type": "string", "minLength": 1, "maxLength": 32, "description": "项目编号"}}
FALLBACK = "application/octet-stream"
# Every type an upload may be stored with (attachments.check_file), and the generic one.
DOWNLOAD_TYPES = (*sorted({t for types in ALLOWED_TYPES.values() for t in types}), FALLBACK)
UPLOAD_FORM = {
    "type": "object",
    "properties": {
        "files": {
            "type": "array",
            "maxItems": MAX_FILES,
            "items": {"type": "string", "contentMediaType": FALLBACK},
            "description": "附件(至少一个;每个不超过 20 MB,类型见允许列表)",
        },
    },
    "additionalProperties": False,
}


def _items(found: list[files.Attachment]) -> Reply:
    return {"items": [serialize.attachment_ref(a) for a in found]}


@endpoint(
    "GET",
    "/orders/<no>/attachments",
    tag="files",
    summary="订单附件(含其项目的附件),按上传先后",
    path_schemas=NO,
    responses={200: FILES},
)
def order_attachments(ctx: Ctx, no: str) -> Reply:
    return _items(files.order_files(ctx.session, actor=ctx.actor, number=no))


@endpoint(
    "GET",
    "/projects/<code>/attachments",
    tag="files",
    summary="项目附件(含其订单的附件)",
    path_schemas=CODE,
    responses={200: FILES},
)
def project_attachments(ctx: Ctx, code: str) -> Reply:
    return _items(files.project_files(ctx.session, actor=ctx.actor, code=code))


@endpoint(
    "GET",
    "/contracts/<int:contract_id>/attachments",
    tag="files",
    summary="合同附件(仅对可查看合同金额者)",
    path_schemas={"contract_id": ID},
    responses={200: FILES},
)
def contract_attachments(ctx: Ctx, contract_id: int) -> Reply:
    return _items(files.contract_files(ctx.session, actor=ctx.actor, contract_id=contract_id))


@endpoint(
    "POST",
    "/contracts/<int:contract_id>/attachments",
    tag="files",
    summary="上传合同附件(multipart:files;客户负责人、其上级、财务或管理员)",
    path_schemas={"contract_id": ID},
    multipart=UPLOAD_FORM,
    responses={201: FILES},
    errors=(403,),
)
def upload_contract_attachments(ctx: Ctx, contract_id: int) -> Reply:
    uploads = [
        Upload(f.filename or "file", f.read(), f.mimetype or FALLBACK)
        for f in ctx.body.get("files", [])
    ]
    stored = files.attach_to_contract(
        ctx.session,
        rt_settings=ctx.rt.settings,
        actor=ctx.actor,
        contract_id=contract_id,
        uploads=uploads,
    )
    return {"items": [serialize.attachment_ref(a) for a in stored]}, 201


@endpoint(
    "GET",
    "/attachments/<int:attachment_id>",
    tag="files",
    summary="下载附件(原文件名,RFC 5987 filename*)",
    path_schemas={"attachment_id": ID},
    responses={200: None},
    downloads=DOWNLOAD_TYPES,
)
def download_attachment(ctx: Ctx, attachment_id: int) -> Reply:
    found = files.readable_file(ctx.session, actor=ctx.actor, attachment_id=attachment_id)
    path = open_path(ctx.rt.settings, found)
    mimetype = found.content_type if found.content_type in DOWNLOAD_TYPES else FALLBACK
    return Response(
        path.read_bytes(),
        mimetype=mimetype,
        headers={
            "Content-Disposition": attachment_disposition(found.name),
            "X-Content-Type-Options": "nosniff",
        },
    )
