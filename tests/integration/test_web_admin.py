"""/m/admin through the Flask test client: admin only (others read a missing page), CSRF on
every form, every configuration edit validated like `orderdesk config import` with a diff
preview and a confirm step, invalid configuration refused with nothing saved."""

from __future__ import annotations

import re
import threading
from collections import Counter
from html import unescape

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from orderdesk.config.edits import fingerprint, record_yaml, save
from orderdesk.config.yaml_io import export_record, export_yaml
from orderdesk.core.errors import Conflict
from orderdesk.models import Activity, ApprovalFlow, Department, OrderType, Staff
from orderdesk.runtime import Runtime
from tests.api_world import World, build
from tests.web_support import csrf_of, page, web_login

ADMIN_PAGES = (
    "/m/admin",
    "/m/admin/config/order_types",
    "/m/admin/config/order_types/impl",
    "/m/admin/config/approval_flows/std",
    "/m/admin/config/project_templates/impl",
    "/m/admin/config/project_templates/_new",
    "/m/admin/staff",
    "/m/admin/staff/sales1",
    "/m/admin/calendar",
    "/m/admin/calendar?month=2026-10",
)
ADMIN_POSTS = (
    "/m/admin/config/order_types/impl/preview",
    "/m/admin/config/order_types/impl/field",
    "/m/admin/config/order_types/impl/save",
    "/m/admin/staff/sales1",
)


@pytest.fixture
def world(session: Session) -> World:
    return build(session)


@pytest.fixture
def web(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def admin(web: FlaskClient, world: World) -> FlaskClient:
    web_login(web, "admin")
    return web


def _hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no hidden {name}"
    return unescape(found.group(1))


def _fields(session: Session) -> list[dict[str, object]]:
    session.expire_all()
    impl = session.query(OrderType).filter_by(code="impl").one()
    return list(impl.field_schema or [])


@pytest.mark.parametrize("userid", ["sales1", "mgr1", "gm", "fin"])
def test_admin_pages_do_not_exist_for_others(web: FlaskClient, world: World, userid: str) -> None:
    web_login(web, userid)
    home = page(web, "/m/")
    # No nav entry either (finance does see /m/admin/imports, which is theirs too).
    assert 'href="/m/admin"' not in home
    for path in ADMIN_PAGES:
        assert web.get(path).status_code == 404, path
    token = csrf_of(home)
    for path in ADMIN_POSTS:
        res = web.post(path, data={"csrf": token, "yaml": "code: impl\nname: x\n"})
        assert res.status_code == 404, path


def test_admin_sees_every_page_and_the_nav_entry(admin: FlaskClient) -> None:
    assert 'href="/m/admin"' in page(admin, "/m/")
    for path in ADMIN_PAGES:
        html = page(admin, path)
        assert "<script>" not in html and "style=" not in html
        assert len(html.encode()) < 100_000, path
    flow = page(admin, "/m/admin/config/approval_flows/std")
    assert "部门负责人" in flow and "部门经理" in flow  # the steps in words, above the YAML
    assert "需求调研" in page(admin, "/m/admin/config/project_templates/impl")
    assert page(admin, "/m/admin/config/nothing", 404)
    assert page(admin, "/m/admin/config/order_types/nosuch", 404)
    assert page(admin, "/m/admin/staff/nobody", 404)


def test_every_admin_form_needs_its_csrf_token(
    admin: FlaskClient, world: World, session: Session
) -> None:
    before = export_yaml(session)
    for path in ADMIN_POSTS:
        res = admin.post(path, data={"csrf": "0" * 32, "yaml": "code: impl\nname: 改名\n"})
        assert res.status_code == 400, path
        assert "页面已过期" in res.text
    session.expire_all()
    assert export_yaml(session) == before


def test_add_a_custom_field_previews_the_diff_then_saves_on_confirm(
    admin: FlaskClient, world: World, session: Session
) -> None:
    html = page(admin, "/m/admin/config/order_types/impl")
    res = admin.post(
        "/m/admin/config/order_types/impl/field",
        data={
            "csrf": csrf_of(html),
            "key": "site",
            "label": "实施地点",
            "type": "enum",
            "required": "1",
            "options": "上海,北京\n深圳",
        },
    )
    assert res.status_code == 200, res.text[:500]
    # The preview: before -> after as a diff, and a confirm form; nothing is saved yet.
    assert '<span class="add">+' in res.text and "key: site" in res.text
    assert "确认保存" in res.text
    assert _fields(session) == []
    confirm = admin.post(
        "/m/admin/config/order_types/impl/save",
        data={
            "csrf": csrf_of(res.text),
            "yaml": _hidden(res.text, "yaml"),
            "token": _hidden(res.text, "token"),
        },
    )
    assert confirm.status_code == 302, confirm.text[:500]
    assert _fields(session) == [
        {
            "key": "site",
            "label": "实施地点",
            "type": "enum",
            "required": True,
            "options": ["上海", "北京", "深圳"],
        }
    ]
    assert "已保存" in page(admin, confirm.headers["Location"])
    audit = session.query(Activity).filter_by(kind="updated").all()
    assert any("修改了订单类型与自定义字段 impl" in a.body for a in audit)
    # The order form now shows the field (draft order o2, managed by the admin).
    order = page(admin, f"/m/orders/{world.o2.number}")
    assert 'name="cf_site"' in order and "实施地点" in order


def test_invalid_field_is_refused_in_chinese_and_nothing_is_saved(
    admin: FlaskClient, world: World, session: Session
) -> None:
    html = page(admin, "/m/admin/config/order_types/impl")
    res = admin.post(
        "/m/admin/config/order_types/impl/field",
        data={"csrf": csrf_of(html), "key": "Bad Key", "label": "", "type": "enum"},
    )
    assert res.status_code == 400
    text = unescape(res.text)
    assert "未做任何修改" in text
    assert "key 须为小写字母开头" in text and "label 不能为空" in text
    assert "选项类型需要非空的 options" in text
    assert "确认保存" not in text
    # Forging the confirm step with the invalid record changes nothing either.
    bad = "code: impl\nname: 实施项目\nfields:\n- key: x\n  label: X\n  type: nosuch\n"
    token = fingerprint(record_yaml(session, "order_types", "impl"))
    forged = admin.post(
        "/m/admin/config/order_types/impl/save",
        data={"csrf": csrf_of(html), "yaml": bad, "token": token},
    )
    assert forged.status_code == 400 and "未知类型" in unescape(forged.text)
    assert _fields(session) == []


def test_yaml_edit_of_an_approval_flow_validates_thresholds(
    admin: FlaskClient, world: World, session: Session
) -> None:
    html = page(admin, "/m/admin/config/approval_flows/std")
    current = unescape(re.search(r'name="yaml"[^>]*>([^<]*)</textarea>', html).group(1))  # type: ignore[union-attr]
    broken = current.replace("min_amount: null", "min_amount: '900.00'", 1).replace(
        "max_amount: null", "max_amount: '100.00'", 1
    )
    res = admin.post(
        "/m/admin/config/approval_flows/std/preview", data={"csrf": csrf_of(html), "yaml": broken}
    )
    assert res.status_code == 400
    assert "min_amount 不能大于 max_amount" in unescape(res.text)
    raised = current.replace("max_amount: null", "max_amount: '50000.00'", 1)
    ok = admin.post(
        "/m/admin/config/approval_flows/std/preview", data={"csrf": csrf_of(html), "yaml": raised}
    )
    assert ok.status_code == 200 and "+max_amount: &#39;50000.00&#39;" in ok.text
    admin.post(
        "/m/admin/config/approval_flows/std/save",
        data={
            "csrf": csrf_of(html),
            "yaml": _hidden(ok.text, "yaml"),
            "token": _hidden(ok.text, "token"),
        },
    )
    session.expire_all()
    flow = session.query(ApprovalFlow).filter_by(code="std").one()
    assert str(flow.max_amount) == "50000.00" and len(flow.steps) == 1


def test_bad_yaml_and_a_changed_code_are_refused(
    admin: FlaskClient, world: World, session: Session
) -> None:
    html = page(admin, "/m/admin/config/project_templates/impl")
    token = csrf_of(html)
    res = admin.post(
        "/m/admin/config/project_templates/impl/preview", data={"csrf": token, "yaml": "a: [1"}
    )
    assert res.status_code == 400 and "YAML 格式错误" in res.text
    res = admin.post(
        "/m/admin/config/project_templates/impl/preview",
        data={"csrf": token, "yaml": "code: other\nname: 另一个\n"},
    )
    assert res.status_code == 400 and "code 不能修改" in res.text
    session.expire_all()
    assert export_record(session, "project_templates", "other") is None


def test_confirm_refuses_when_someone_saved_in_between(
    admin: FlaskClient, world: World, session: Session
) -> None:
    html = page(admin, "/m/admin/config/project_templates/impl")
    preview = admin.post(
        "/m/admin/config/project_templates/impl/preview",
        data={"csrf": csrf_of(html), "yaml": "code: impl\nname: 新名字\n"},
    )
    assert preview.status_code == 200
    template = session.query(OrderType).filter_by(code="impl").one().project_template
    assert template is not None
    template.name = "别人改的"  # someone else's save lands first
    session.commit()
    res = admin.post(
        "/m/admin/config/project_templates/impl/save",
        data={
            "csrf": csrf_of(html),
            "yaml": _hidden(preview.text, "yaml"),
            "token": _hidden(preview.text, "token"),
        },
    )
    assert res.status_code == 409 and "已被他人修改" in res.text
    session.expire_all()
    assert export_record(session, "project_templates", "impl")["name"] == "别人改的"  # type: ignore[index]


def test_new_project_template(admin: FlaskClient, world: World, session: Session) -> None:
    html = page(admin, "/m/admin/config/project_templates/_new")
    text = (
        "code: brand\nname: 品牌设计\ntasks:\n- title: 访谈\n  offset_days: 3\n"
        "milestones:\n- name: 交稿\n  offset_days: 20\n"
    )
    preview = admin.post(
        "/m/admin/config/project_templates/_new/preview",
        data={"csrf": csrf_of(html), "yaml": text},
    )
    assert preview.status_code == 200 and "+code: brand" in preview.text
    res = admin.post(
        "/m/admin/config/project_templates/_new/save",
        data={
            "csrf": csrf_of(html),
            "yaml": _hidden(preview.text, "yaml"),
            "token": _hidden(preview.text, "token"),
        },
    )
    assert res.headers["Location"].endswith("/m/admin/config/project_templates/brand?saved=1")
    # The same code again is a new record no more: refused.
    again = admin.post(
        "/m/admin/config/project_templates/_new/preview",
        data={"csrf": csrf_of(html), "yaml": text},
    )
    assert again.status_code == 400 and "已存在" in again.text


def test_staff_roles_department_and_active(
    admin: FlaskClient, web: FlaskClient, app: Flask, world: World, session: Session
) -> None:
    other = app.test_client()
    web_login(other, "sales1")
    north = session.query(Department).filter_by(name="北区").one()
    html = page(admin, "/m/admin/staff/sales1")
    res = admin.post(
        "/m/admin/staff/sales1",
        data={"csrf": csrf_of(html), "roles": ["sales", "pm"], "department": str(north.id)},
    )
    assert res.status_code == 302
    session.expire_all()
    person = session.query(Staff).filter_by(userid="sales1").one()
    assert person.roles == {"sales", "pm"} and person.department_id == north.id
    assert not person.active
    assert other.get("/m/").status_code == 302  # disabled: their session ended at once
    listing = page(admin, "/m/admin/staff")
    assert "停用" in listing and "项目经理" in listing


def test_staff_edit_refuses_bad_input_and_self_lockout(
    admin: FlaskClient, world: World, session: Session
) -> None:
    html = page(admin, "/m/admin/staff/admin")
    token = csrf_of(html)
    res = admin.post(
        "/m/admin/staff/admin", data={"csrf": token, "roles": ["sales"], "active": "1"}
    )
    assert res.status_code == 400 and "不能取消自己的管理员角色" in res.text
    res = admin.post("/m/admin/staff/sales1", data={"csrf": token, "roles": [], "active": "1"})
    assert res.status_code == 400 and "至少需要一个角色" in res.text
    res = admin.post(
        "/m/admin/staff/sales1", data={"csrf": token, "roles": ["sales", "boss"], "active": "1"}
    )
    assert res.status_code == 400 and "未知角色" in res.text
    res = admin.post(
        "/m/admin/staff/sales1",
        data={"csrf": token, "roles": ["sales"], "department": "99999", "active": "1"},
    )
    assert res.status_code == 400 and "找不到该部门" in res.text
    session.expire_all()
    person = session.query(Staff).filter_by(userid="sales1").one()
    assert person.roles == {"sales"} and person.active
    assert person.department is not None and person.department.name == "东区"


def test_calendar_shows_the_month_as_the_scheduler_sees_it(admin: FlaskClient) -> None:
    html = page(admin, "/m/admin/calendar?month=2026-10")
    # National Day week (official holidays) and the make-up Saturday after it.
    assert "2026-10-01" in html and "法定假日" in html
    assert "调休上班" in html
    assert "工作日 " in html
    assert page(admin, "/m/admin/calendar?month=2026-13", 400)
    assert page(admin, "/m/admin/calendar?month=soon", 400)


def test_parallel_confirms_of_one_preview_save_once(rt: Runtime, world: World) -> None:
    """Two admins confirm different changes made from the same preview at the same moment:
    one is saved, the other is refused as changed by someone else (never a silent overwrite)."""
    with rt.db.transaction() as s:
        token = fingerprint(record_yaml(s, "project_templates", "impl"))
    barrier = threading.Barrier(4)
    outcomes: Counter[str] = Counter()
    guard = threading.Lock()

    def confirm(name: str) -> None:
        barrier.wait(timeout=10)
        try:
            with rt.db.transaction() as s:
                admin = s.query(Staff).filter_by(userid="admin").one()
                item = {"code": "impl", "name": name}
                save(
                    s, actor=admin, section="project_templates", code="impl", item=item, token=token
                )
            outcome = "saved"
        except Conflict:
            outcome = "conflict"
        with guard:
            outcomes[outcome] += 1

    threads = [threading.Thread(target=confirm, args=(f"模板{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    assert outcomes == Counter({"saved": 1, "conflict": 3})
