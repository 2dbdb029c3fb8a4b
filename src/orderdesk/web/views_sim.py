"""/sim: chat with the app 1:1 or @the bot in a demo group, without a WeCom tenant.

Sandbox only, and only for clients the dev login trusts: every message and button click is a
real signed callback to /wecom/callback or /wecom/bot, like `orderdesk chat` / `click`.
"""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, make_response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from orderdesk.directory.sessions import trusts_caller_word
from orderdesk.web import bp, sim
from orderdesk.web.auth import PRE_COOKIE, check_csrf, csrf_for, pre_login_seed, runtime
from orderdesk.wecom import signing

MAX_TEXT = 500


def _guard() -> None:
    # Outside the sandbox, or to a client not trusted with its word, the page does not exist.
    if not trusts_caller_word(runtime().settings, request.remote_addr):
        abort(404)


def _choice() -> tuple[str, str | None]:
    source = request.form if request.method == "POST" else request.args
    userid = (source.get("as") or "").strip()[:64]
    chat_id = (source.get("group") or "").strip()[:64] or None
    return userid, chat_id


def _manual_runs() -> Any:
    # jobs.scheduler.ManualRuns, handed over by the app factory (web/ may not import jobs/).
    return current_app.extensions["orderdesk.manual_runs"]


def _render(userid: str, chat_id: str | None, sent: list[sim.Bubble]) -> ResponseReturnValue:
    rt = runtime()
    seed = pre_login_seed()
    with rt.db.transaction() as session:
        people = sim.people(session)
        groups = sim.groups(session)
        if not userid and people:
            userid = people[0].userid
        if userid not in {p.userid for p in people}:
            abort(400, "请选择一位演示成员")
        if chat_id is not None and chat_id not in {g.chat_id for g in groups}:
            abort(400, "未知的群聊")
        html = render_template(
            "web/sim.html",
            people=people,
            groups=groups,
            userid=userid,
            chat_id=chat_id,
            feed=sim.feed(session, userid=userid, chat_id=chat_id),
            sent=sent,
            csrf=csrf_for(rt, seed),
            jobs=_manual_runs().listing(),
            ran=(request.args.get("ran") or "")[:64],
        )
    response = make_response(html)
    pre_login_seed(response)
    return response


@bp.get("/sim")
def sim_page() -> ResponseReturnValue:
    _guard()
    userid, chat_id = _choice()
    return _render(userid, chat_id, [])


@bp.post("/sim/send")
def sim_send() -> ResponseReturnValue:
    _guard()
    rt = runtime()
    check_csrf(rt, request.cookies.get(PRE_COOKIE))
    userid, chat_id = _choice()
    text = (request.form.get("text") or "").strip()[:MAX_TEXT]
    task_id = (request.form.get("task_id") or "").strip()[:128]
    key = (request.form.get("key") or "").strip()[:128]
    if not userid or not (text or (task_id and key)):
        abort(400, "请输入消息")
    s = rt.settings
    if text:
        req = signing.bot_text(s, userid, text, chat_id=chat_id) if chat_id else None
        req = req or signing.app_text(s, userid, text)
        mine = sim.Bubble("me", {"msgtype": "text", "text": {"content": text}})
    else:
        req = signing.bot_click(s, userid, task_id, key, chat_id=chat_id) if chat_id else None
        req = req or signing.app_click(s, userid, task_id, key)
        mine = sim.Bubble("me", {"msgtype": "text", "text": {"content": f"[点击按钮 {key}]"}})
    reply = sim.send(s, req)
    return _render(userid, chat_id, [mine] + ([reply] if reply else []))


@bp.post("/sim/run")
def sim_run() -> ResponseReturnValue:
    """Start a scheduled job now (reminders, digests, ...): its pushes then show in the chats."""
    _guard()
    check_csrf(runtime(), request.cookies.get(PRE_COOKIE))
    userid, chat_id = _choice()
    name = (request.form.get("job") or "").strip()[:64]
    try:
        _manual_runs().run(name)
    except KeyError:
        abort(400, "未知的定时任务")
    args: dict[str, Any] = {"as": userid, "ran": name}
    if chat_id:
        args["group"] = chat_id
    return redirect(url_for("web.sim_page", **args))
