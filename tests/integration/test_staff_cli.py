"""`orderdesk staff add|list|role|sync`: clear errors, non-zero exits, nothing half-done."""

from __future__ import annotations

from typing import Any

import pytest
import responses
from click.testing import CliRunner, Result
from responses import matchers
from sqlalchemy import func, select

from orderdesk.cli import main
from orderdesk.core.errors import ValidationFailed
from orderdesk.directory.service import parse_role_tags, plan_directory
from orderdesk.models import Activity, Department, Staff
from orderdesk.runtime import Runtime
from orderdesk.settings import Settings

BASE = "http://wecom.test/cgi-bin"
ROLE_TAGS = "finance=财务,manager=部门经理,gm=总经理,admin=OrderDesk管理员"


@pytest.fixture
def env(settings: Settings, rt: Runtime) -> dict[str, str]:
    """The environment a CLI run in this test sees (the test database, sandbox WeCom)."""
    return {
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "REDIS_NAMESPACE": settings.redis_namespace,
        "WECOM_API_BASE": BASE,
        "WECOM_ROLE_TAGS": ROLE_TAGS,
        "JOBS_SYNC": "true",
    }


def run(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def staff_rows(rt: Runtime) -> dict[str, tuple[str, bool, frozenset[str], str | None, str | None]]:
    with rt.db.transaction() as s:
        return {
            p.userid: (
                p.name,
                p.active,
                p.roles,
                p.manager.userid if p.manager else None,
                p.department.name if p.department else None,
            )
            for p in s.scalars(select(Staff))
        }


def test_add_list_and_change_roles(env: dict[str, str], rt: Runtime) -> None:
    ok = run(env, "staff", "add", "liuyang", "--name", "刘洋", "--role", "manager",
             "--role", "sales", "--department", "销售部")  # fmt: skip
    assert ok.exit_code == 0, ok.output
    ok = run(env, "staff", "add", "zhangsan", "--name", "张三", "--role", "销售",
             "--department", "销售部", "--manager", "liuyang")  # fmt: skip
    assert ok.exit_code == 0, ok.output
    rows = staff_rows(rt)
    assert rows["zhangsan"] == ("张三", True, frozenset({"sales"}), "liuyang", "销售部")
    assert rows["liuyang"][2] == frozenset({"manager", "sales"})
    with rt.db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Department)) == 1  # reused, not doubled

    listing = run(env, "staff", "list")
    assert listing.exit_code == 0
    assert "zhangsan" in listing.output and "liuyang" in listing.output and "(2)" in listing.output
    only_managers = run(env, "staff", "list", "--role", "manager")
    assert "liuyang" in only_managers.output and "zhangsan" not in only_managers.output

    changed = run(env, "staff", "role", "zhangsan", "+pm", "-sales", "+finance")
    assert changed.exit_code == 0, changed.output
    assert staff_rows(rt)["zhangsan"][2] == frozenset({"pm", "finance"})
    with rt.db.transaction() as s:
        bodies = [a.body for a in s.scalars(select(Activity).order_by(Activity.id))]
    assert any("张三" in b and "角色" in b for b in bodies)  # each change is on the timeline


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["--role", "wizard"], ["未知角色", "unknown role", "wizard"]),
        (["--role", "sales", "--manager", "nobody"], ["找不到上级", "nobody"]),
        (["--role", "sales", "--role", "magician"], ["unknown role", "magician"]),
    ],
)
def test_add_refuses_bad_input_and_changes_nothing(
    env: dict[str, str], rt: Runtime, args: list[str], needles: list[str]
) -> None:
    result = run(env, "staff", "add", "wangwu", "--name", "王五", "--department", "新部门", *args)
    assert result.exit_code == 1
    for needle in needles:
        assert needle in result.output
    assert staff_rows(rt) == {}
    with rt.db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Department)) == 0


def test_duplicate_userid_is_refused(env: dict[str, str], rt: Runtime) -> None:
    assert run(env, "staff", "add", "lisi", "--name", "李四", "--role", "sales").exit_code == 0
    again = run(env, "staff", "add", "lisi", "--name", "李四二", "--role", "pm")
    assert again.exit_code == 1
    assert "已存在" in again.output and "already exists" in again.output
    assert staff_rows(rt)["lisi"] == ("李四", True, frozenset({"sales"}), None, None)


def test_missing_role_option_is_a_usage_error(env: dict[str, str], rt: Runtime) -> None:
    result = run(env, "staff", "add", "lisi", "--name", "李四")
    assert result.exit_code == 2 and "--role" in result.output
    assert staff_rows(rt) == {}


def test_role_change_is_all_or_nothing(env: dict[str, str], rt: Runtime) -> None:
    assert run(env, "staff", "add", "lisi", "--name", "李四", "--role", "sales").exit_code == 0
    bad = run(env, "staff", "role", "lisi", "+pm", "+astronaut")
    assert bad.exit_code == 1 and "astronaut" in bad.output
    assert staff_rows(rt)["lisi"][2] == frozenset({"sales"})
    bad = run(env, "staff", "role", "lisi", "pm")
    assert bad.exit_code == 1 and "+ROLE" in bad.output
    missing = run(env, "staff", "role", "ghost", "+pm")
    assert missing.exit_code == 1 and "ghost" in missing.output


# ---------------------------------------------------------------- directory sync

DEPARTMENTS = [
    {"id": 1, "name": "云帆科技", "parentid": 0, "department_leader": ["ceo"]},
    {"id": 2, "name": "销售部", "parentid": 1, "department_leader": ["liuyang"]},
    {"id": 3, "name": "财务部", "parentid": 1},
    {"id": 4, "name": "华东销售组", "parentid": 2},
]
USERS = [
    {"userid": "ceo", "name": "陈总", "department": [1], "main_department": 1, "status": 1},
    {"userid": "liuyang", "name": "刘洋", "department": [2], "main_department": 2, "status": 1},
    {"userid": "zhangsan", "name": "张三", "department": [4, 2], "main_department": 4,
     "status": 1, "mobile": "13800000000"},
    {"userid": "wangfang", "name": "王芳", "department": [3], "status": 1,
     "is_leader_in_dept": [1], "email": "wf@example.cn"},
    {"userid": "cashier", "name": "出纳小周", "department": [3], "status": 1,
     "direct_leader": ["ceo"]},
    {"userid": "leaver", "name": "已离职", "department": [2], "status": 5},
]  # fmt: skip
TAGS = [
    {"tagid": 11, "tagname": "财务"},
    {"tagid": 12, "tagname": "部门经理"},
    {"tagid": 13, "tagname": "总经理"},
    {"tagid": 14, "tagname": "无关标签"},
]
TAG_MEMBERS: dict[int, dict[str, Any]] = {
    11: {"userlist": [], "partylist": [3]},  # the whole finance department
    12: {"userlist": [{"userid": "liuyang", "name": "刘洋"}], "partylist": []},
    13: {"userlist": [{"userid": "ceo", "name": "陈总"}], "partylist": []},
}


def mock_directory(rsps: responses.RequestsMock, *, users: list[dict[str, Any]]) -> None:
    ok: dict[str, Any] = {"errcode": 0, "errmsg": "ok"}
    rsps.get(f"{BASE}/gettoken", json=ok | {"access_token": "TOKEN", "expires_in": 7200})
    rsps.get(f"{BASE}/department/list", json=ok | {"department": DEPARTMENTS})
    rsps.get(f"{BASE}/user/list", json=ok | {"userlist": users})
    rsps.get(f"{BASE}/tag/list", json=ok | {"taglist": TAGS})
    for tag_id, body in TAG_MEMBERS.items():
        only_this_tag = matchers.query_param_matcher({"tagid": str(tag_id)}, strict_match=False)
        rsps.get(f"{BASE}/tag/get", match=[only_this_tag], json=ok | body)


def test_sync_imports_departments_members_managers_and_tag_roles(
    env: dict[str, str], rt: Runtime
) -> None:
    # Already here: an admin added by hand (kept), a local sales role (kept), a departed user.
    with rt.db.transaction() as s:
        admin = Staff(userid="admin", name="管理员")
        admin.add_role("admin")
        zhang = Staff(userid="zhangsan", name="张三(旧)")
        zhang.add_role("sales")
        zhang.add_role("finance")  # managed by the 财务 tag: taken away by the sync
        s.add_all([admin, zhang, Staff(userid="gone", name="早已不在")])
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        mock_directory(rsps, users=USERS)
        result = run(env, "staff", "sync")
    assert result.exit_code == 0, result.output
    assert "新增 / created: 5" in result.output
    rows = staff_rows(rt)
    assert rows["zhangsan"] == ("张三", True, frozenset({"sales"}), "liuyang", "华东销售组")
    assert rows["liuyang"] == ("刘洋", True, frozenset({"manager"}), "ceo", "销售部")
    assert rows["ceo"][2] == frozenset({"gm"}) and rows["ceo"][3] is None
    assert rows["wangfang"] == ("王芳", True, frozenset({"finance"}), "ceo", "财务部")
    assert rows["cashier"][2] == frozenset({"finance"}) and rows["cashier"][3] == "ceo"
    assert rows["leaver"][1] is False  # WeCom status 5: departed
    assert rows["gone"][1] is False  # missing from the directory
    assert rows["admin"][1] is True  # admins are never deactivated by a sync
    with rt.db.transaction() as s:
        heads = {d.name: d.head_userid for d in s.scalars(select(Department))}
        sub = s.scalar(select(Department).where(Department.wecom_id == 4))
        assert sub is not None and sub.parent is not None and sub.parent.wecom_id == 2
    assert heads == {
        "云帆科技": "ceo",
        "销售部": "liuyang",
        "财务部": "wangfang",
        "华东销售组": None,
    }

    # A second sync with the same directory changes nothing.
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        mock_directory(rsps, users=USERS)
        again = run(env, "staff", "sync")
        assert sum("/user/list?" in (c.request.url or "") for c in rsps.calls) == 1
    assert "新增 / created: 0" in again.output and "更新 / updated: 0" in again.output
    assert staff_rows(rt) == rows


def test_sync_failure_changes_nothing(env: dict[str, str], rt: Runtime) -> None:
    ok: dict[str, Any] = {"errcode": 0, "errmsg": "ok"}
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.get(f"{BASE}/gettoken", json=ok | {"access_token": "TOKEN", "expires_in": 7200})
        rsps.get(f"{BASE}/department/list", json=ok | {"department": DEPARTMENTS})
        rsps.get(f"{BASE}/user/list", json={"errcode": 60011, "errmsg": "no privilege"})
        result = run(env, "staff", "sync")
    assert result.exit_code == 1
    assert "60011" in result.output
    assert staff_rows(rt) == {}


def test_sync_refuses_a_bad_role_tag_setting(env: dict[str, str], rt: Runtime) -> None:
    # settings.py already rejects unknown roles at start-up (exit 2, one line naming it).
    result = run(env | {"WECOM_ROLE_TAGS": "wizard=巫师"}, "staff", "sync")
    assert result.exit_code == 2 and "WECOM_ROLE_TAGS" in result.output


def test_plan_rules_without_http() -> None:
    members: dict[int, tuple[list[str], list[int]]] = {11: (["wangfang"], [])}
    plan = plan_directory(
        DEPARTMENTS,
        USERS,
        [{"tagid": 11, "tagname": "财务"}],
        members,
        parse_role_tags("finance=财务,gm=总经理"),
    )
    assert plan.managed_roles == frozenset({"finance", "gm"})
    assert any("总经理" in w for w in plan.warnings)  # a configured tag missing in WeCom
    by_id = {m.userid: m for m in plan.members}
    # The head of a department reports to the head of the parent department.
    assert by_id["liuyang"].manager_userid == "ceo"
    assert by_id["ceo"].manager_userid is None
    # A sub-department without a head: the nearest head up the tree.
    assert by_id["zhangsan"].manager_userid == "liuyang"
    assert by_id["zhangsan"].dept_wecom_id == 4 and by_id["zhangsan"].mobile == "13800000000"
    assert by_id["wangfang"].roles == frozenset({"finance"})
    assert not by_id["leaver"].active
    with pytest.raises(ValidationFailed, match="unknown role"):
        parse_role_tags("astronaut=宇航员")
    with pytest.raises(ValidationFailed, match="role=tag"):
        parse_role_tags("finance")
