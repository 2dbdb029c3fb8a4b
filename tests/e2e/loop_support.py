"""The company the loop walks start from, set up through the product's own CLI (`orderdesk
staff add`, `orderdesk config import`): no service is called to arrange it."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result

from orderdesk.cli import main
from orderdesk.settings import Settings

CONFIG = """\
version: 1
business_lines:
- code: IT
  name: IT 实施
project_templates:
- code: TPL_IT
  name: IT 实施标准模板
  tasks:
  - title: 项目启动会
    offset_days: 3
    owner_role: pm
  - title: 用户培训
    offset_days: 60
    owner_role: pm
  milestones:
  - name: 上线
    offset_days: 60
  - name: 验收
    offset_days: 75
approval_flows:
- code: FLOW_IT
  name: IT 实施订单审批
  business_line: IT
  steps:
  - sequence: 1
    name: 销售经理审批
    approver_kind: owner_manager
    approver_value: ''
    mode: any
service_items:
- code: IT-IMPL-DAY
  name: 系统实施(人天)
  unit: 人天
  unit_price: '2000.00'
  billing_method: time_and_materials
  business_line: IT
order_types:
- code: IT_IMPL
  name: IT 实施项目
  business_line: IT
  default_billing_method: milestone
  approval_flow: FLOW_IT
  project_template: TPL_IT
  fields:
  - key: site
    label: 实施地点
    type: string
    required: true
    max: 50
  - key: users
    label: 用户数
    type: number
    required: false
"""

STAFF = [
    ("liuyang", "刘洋", ("manager", "sales"), None),
    ("zhangsan", "张三", ("sales",), "liuyang"),
    ("wangfang", "王芳", ("finance",), None),
    ("zhouqiang", "周强", ("pm",), None),
    ("zhengkai", "郑凯", ("delivery",), None),
    ("fengxue", "冯雪", ("delivery",), None),
]


def cli_env(settings: Settings) -> dict[str, str]:
    return {
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url or "",
        "REDIS_NAMESPACE": settings.redis_namespace,
        "STORAGE_DIR": str(settings.storage_path),
        "JOBS_SYNC": "true",
    }


def cli(settings: Settings, *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env=cli_env(settings), catch_exceptions=False)


def set_up_company(settings: Settings, tmp_path: Path) -> None:
    for userid, name, roles, manager in STAFF:
        args = ["staff", "add", userid, "--name", name, "--department", "交付与销售"]
        for role in roles:
            args += ["--role", role]
        if manager:
            args += ["--manager", manager]
        result = cli(settings, *args)
        assert result.exit_code == 0, result.output
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    result = cli(settings, "config", "import", str(path))
    assert result.exit_code == 0, result.output
