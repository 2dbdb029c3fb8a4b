"""Imports through the API and the H5 page: POST /imports stores the sheet and queues the job
(run by a real RQ worker when Redis is configured, in-process otherwise), GET /imports/{id}
reports progress and the summary, the error workbook downloads; roles and scope hold."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from rq import SimpleWorker
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orderdesk.imports import runs
from orderdesk.imports.service import write_template
from orderdesk.jobqueue import QUEUES
from orderdesk.models import Customer, ImportRun, Staff
from orderdesk.runtime import Runtime
from tests.api_support import ApiClient
from tests.import_support import workbook, world
from tests.integration.test_scheduler_rq import rq_rt  # noqa: F401  (fixture)
from tests.jobs_support import run_jobs
from tests.web_support import csrf_of, page, web_login


@pytest.fixture
def api(app: Flask, client: FlaskClient) -> ApiClient:
    return ApiClient(app, client)


@pytest.fixture
def w(session: Session) -> dict[str, Any]:
    found = world(session)
    session.commit()
    return found


def sheet_bytes(tmp_path: Path, rows: list[list[Any]]) -> bytes:
    path = workbook(tmp_path / "up.xlsx", ["客户编码", "客户名称"], rows)
    return path.read_bytes()


def upload(api: ApiClient, content: bytes, **form: str) -> Any:
    data: dict[str, Any] = {"kind": "customers", **form, "file": (io.BytesIO(content), "客户.xlsx")}
    return api.post("/imports", data=data, content_type="multipart/form-data")


def test_api_import_end_to_end_with_error_workbook(
    api: ApiClient, rt: Runtime, session: Session, w: dict[str, Any], tmp_path: Path
) -> None:
    api.login("admin1")
    res = upload(api, sheet_bytes(tmp_path, [["C1", "甲公司"], ["C2", ""]]), skip_invalid="true")
    assert res.status_code == 202, res.get_json()
    run_id = res.get_json()["id"]
    run_jobs(rt)
    body = api.get(f"/imports/{run_id}").get_json()
    assert body["status"] == "done", body
    assert body["summary"]["created"] == 1 and body["summary"]["refused"] == 1
    assert session.scalar(select(func.count()).select_from(Customer)) == 1
    errors = api.get(body["errors_url"].removeprefix("/api/v1"))
    assert errors.status_code == 200
    rows = list(load_workbook(io.BytesIO(errors.data)).active.iter_rows(values_only=True))
    assert rows[-1][0] == "C2" and rows[-1][-1] == "「客户名称」必填"
    # Another finance person (not the uploader, not admin) reads it as not found.
    api.login("fin1")
    assert api.get(f"/imports/{run_id}").status_code == 404
    assert api.get(f"/imports/{run_id}/errors").status_code == 404


def test_api_refuses_sales_and_bad_files(
    api: ApiClient, session: Session, w: dict[str, Any], tmp_path: Path
) -> None:
    api.login("zhang")
    assert upload(api, sheet_bytes(tmp_path, [["C1", "甲"]])).status_code == 403
    api.login("admin1")
    bad = api.post(
        "/imports",
        data={"kind": "customers", "file": (io.BytesIO(b"x"), "a.exe")},
        content_type="multipart/form-data",
    )
    assert bad.status_code == 422
    assert session.scalar(select(func.count()).select_from(ImportRun)) == 0


def test_job_runs_on_a_real_rq_worker(
    rq_rt: Runtime,  # noqa: F811  (the fixture imported above)
    w: dict[str, Any],
    tmp_path: Path,
) -> None:
    with rq_rt.db.transaction() as s:
        actor = s.scalars(select(Staff).where(Staff.userid == "admin1")).one()
        run = runs.start_run(
            s,
            actor=actor,
            storage=tmp_path,
            kind="customers",
            filename="c.xlsx",
            content=sheet_bytes(tmp_path, [["C7", "庚公司"]]),
            dry_run=False,
            skip_invalid=False,
        )
        run_id = run.id
    rq_rt.queue.enqueue(runs.JOB, queue="low", run_id=run_id)
    SimpleWorker([rq_rt.queue.rq_queue(q) for q in QUEUES], connection=rq_rt.redis).work(burst=True)
    with rq_rt.db.transaction() as s:
        done = s.get(ImportRun, run_id)
        assert done is not None and done.status == "done", done and done.message
        assert done.summary["created"] == 1
        assert s.scalar(select(Customer.code)) == "C7"


def test_h5_page_uploads_and_shows_the_summary(
    client: FlaskClient, rt: Runtime, w: dict[str, Any], tmp_path: Path
) -> None:
    web_login(client, "admin1", "/m/admin/imports")
    html = page(client, "/m/admin/imports")
    assert "导入" in html and "模板" in html
    res = client.post(
        "/m/admin/imports",
        data={
            "csrf": csrf_of(html),
            "kind": "customers",
            "file": (io.BytesIO(sheet_bytes(tmp_path, [["C1", "甲公司"]])), "c.xlsx"),
        },
        content_type="multipart/form-data",
    )
    assert res.status_code == 302, res.text[:300]
    run_jobs(rt)
    detail = page(client, res.headers["Location"])
    assert "新建 1" in detail
    tpl = client.get("/m/admin/imports/template/orders")
    assert tpl.status_code == 200 and tpl.data[:2] == b"PK"


def test_h5_page_is_for_admin_and_finance_only(client: FlaskClient, w: dict[str, Any]) -> None:
    web_login(client, "zhang", "/m/")
    page(client, "/m/admin/imports", status=404)


def test_cli_template_and_import_with_progress_on_stderr(
    rt: Runtime, session: Session, w: dict[str, Any], tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from orderdesk.cli import main
    from orderdesk.runtime import install
    from tests.integration.test_scheduler_cli import env_of

    runner = CliRunner()
    out = tmp_path / "tpl.xlsx"
    res = runner.invoke(
        main,
        ["import", "template", "customers", "--out", str(out), "--as", "admin1"],
        env=env_of(rt),
    )
    assert res.exit_code == 0, res.output
    assert load_workbook(out).worksheets[0]["A1"].value == "客户编码*"
    path = workbook(tmp_path / "c.xlsx", ["客户编码", "客户名称"], [["C1", "甲公司"], ["C2", ""]])
    res = runner.invoke(main, ["import", "customers", str(path), "--as", "admin1"], env=env_of(rt))
    assert res.exit_code == 1
    assert "未导入:新建 0,更新 0,未变 0,拒绝 1" in res.stdout
    assert "行/秒" in res.stderr and "c_错误.xlsx" in res.stdout
    res = runner.invoke(
        main,
        ["import", "customers", str(path), "--skip-invalid", "--as", "admin1"],
        env=env_of(rt),
    )
    install(rt)  # the command installed (and closed) a runtime of its own
    assert "已导入:新建 1" in res.stdout
    assert session.scalar(select(Customer.code)) == "C1"


def template_bytes(session: Session, w: dict[str, Any], tmp_path: Path, *rows: list[Any]) -> bytes:
    """The customers template as downloaded, with `rows` typed below its example row."""
    path = write_template(session, actor=w["admin"], name="customers", path=tmp_path / "t.xlsx")
    book = load_workbook(path)
    for row in rows:
        book.worksheets[0].append(row)
    book.save(path)
    return path.read_bytes()


def test_api_skips_the_template_example_and_refuses_an_untouched_template(
    api: ApiClient, rt: Runtime, session: Session, w: dict[str, Any], tmp_path: Path
) -> None:
    api.login("admin1")
    res = upload(api, template_bytes(session, w, tmp_path))
    assert res.status_code == 202, res.get_json()
    run_jobs(rt)
    body = api.get(f"/imports/{res.get_json()['id']}").get_json()
    assert body["status"] == "refused", body
    assert body["message"].startswith("没有可导入的数据行:第 2 行是模板示例行,已跳过")
    assert session.scalar(select(func.count()).select_from(Customer)) == 0
    res = upload(api, template_bytes(session, w, tmp_path, ["C1", "甲公司"]))
    run_jobs(rt)
    body = api.get(f"/imports/{res.get_json()['id']}").get_json()
    assert body["status"] == "done", body
    assert body["summary"]["created"] == 1 and body["summary"]["refused"] == 0
    assert body["summary"]["skipped_example"] == [2]
    assert body["message"] == "新建 1,更新 0,未变 0,拒绝 0;已跳过模板示例行(第 2 行)"
    assert session.scalar(select(Customer.code)) == "C1"


def test_h5_page_says_the_example_row_was_skipped(
    client: FlaskClient, rt: Runtime, session: Session, w: dict[str, Any], tmp_path: Path
) -> None:
    web_login(client, "admin1", "/m/admin/imports")
    for rows, shown in (
        ((), "没有可导入的数据行"),
        ((["C1", "甲公司"],), "新建 1,更新 0,未变 0,拒绝 0;已跳过模板示例行(第 2 行)"),
    ):
        res = client.post(
            "/m/admin/imports",
            data={
                "csrf": csrf_of(page(client, "/m/admin/imports")),
                "kind": "customers",
                "file": (io.BytesIO(template_bytes(session, w, tmp_path, *rows)), "t.xlsx"),
            },
            content_type="multipart/form-data",
        )
        assert res.status_code == 302, res.text[:300]
        run_jobs(rt)
        assert shown in page(client, res.headers["Location"])


def test_cli_untouched_template_exits_1_and_a_filled_one_imports(
    rt: Runtime, session: Session, w: dict[str, Any], tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from orderdesk.cli import main
    from orderdesk.runtime import install
    from tests.integration.test_scheduler_cli import env_of

    runner = CliRunner()
    out = tmp_path / "tpl.xlsx"
    args = ["--as", "admin1"]
    res = runner.invoke(
        main, ["import", "template", "customers", "--out", str(out), *args], env=env_of(rt)
    )
    assert res.exit_code == 0, res.output
    res = runner.invoke(main, ["import", "customers", str(out), *args], env=env_of(rt))
    assert res.exit_code == 1
    assert "错误 / error: 没有可导入的数据行:第 2 行是模板示例行,已跳过" in res.stderr
    book = load_workbook(out)
    book.worksheets[0].append(["C1", "甲公司"])
    book.save(out)
    res = runner.invoke(main, ["import", "customers", str(out), *args], env=env_of(rt))
    install(rt)  # the command installed (and closed) a runtime of its own
    assert res.exit_code == 0, res.output
    assert "已导入:新建 1,更新 0,未变 0,拒绝 0;已跳过模板示例行(第 2 行)" in res.stdout
    assert session.scalar(select(Customer.code)) == "C1"
