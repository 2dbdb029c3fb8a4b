"""The `reporting` section of the YAML company config: what the reports need to know that no
order records. Stored as one JSON document in `company_settings` (key `reporting`).

    reporting:
      hours_per_day: "8"            # available hours on a working day (utilisation)
      role_cost_rates:              # ¥ per hour, for people without their own rate
        delivery: "300.00"          # (Staff.hourly_cost_rate > 0 wins over the role's rate)
        pm: "400.00"
      journal_accounts:             # account codes of the journal export
        receivable: "1122"
        revenue: "6001"
        output_vat: "22210106"
        bank: "1002"

Money and hours are decimal strings (never floats), as everywhere in the config.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from orderdesk.config.fields import parse_decimal
from orderdesk.config.rules import Problems
from orderdesk.models import CompanySetting
from orderdesk.models.staff import ROLES

KEY = "reporting"
DEFAULT_HOURS_PER_DAY = Decimal("8")
DEFAULT_ACCOUNT_CODES = {
    "receivable": "1122",
    "revenue": "6001",
    "output_vat": "22210106",
    "bank": "1002",
}
_ACCOUNT_CODE = re.compile(r"[0-9A-Za-z.\-]{1,20}")
_SECTION_KEYS = frozenset({"hours_per_day", "role_cost_rates", "journal_accounts"})


@dataclass(frozen=True)
class ReportingConfig:
    hours_per_day: Decimal = DEFAULT_HOURS_PER_DAY
    role_cost_rates: dict[str, Decimal] = field(default_factory=dict)
    journal_accounts: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_ACCOUNT_CODES))

    def role_rate(self, roles: list[str]) -> Decimal:
        """The highest configured rate among a person's roles (a PM who also delivers costs
        what a PM costs); 0 when none is configured."""
        rates = [self.role_cost_rates[r] for r in roles if r in self.role_cost_rates]
        return max(rates, default=Decimal("0.00"))


def load(session: Session) -> ReportingConfig:
    row = session.get(CompanySetting, KEY)
    if row is None:
        return ReportingConfig()
    data = row.value or {}
    return ReportingConfig(
        hours_per_day=Decimal(str(data.get("hours_per_day", DEFAULT_HOURS_PER_DAY))),
        role_cost_rates={
            r: Decimal(str(v)).quantize(Decimal("0.01"))
            for r, v in (data.get("role_cost_rates") or {}).items()
        },
        journal_accounts={**DEFAULT_ACCOUNT_CODES, **(data.get("journal_accounts") or {})},
    )


def export_section(session: Session) -> dict[str, Any] | None:
    row = session.get(CompanySetting, KEY)
    return dict(row.value) if row is not None else None


def _check_amount(value: Any, path: str, p: Problems, *, upper: Decimal) -> None:
    parsed = parse_decimal(value) if isinstance(value, (str, int)) else None
    if parsed is None or not Decimal(0) < parsed <= upper:
        p.add(path, f'须为 0 到 {upper} 之间的数值(写成字符串,如 "8")')


def validate(data: Any, p: Problems) -> None:
    if not isinstance(data, Mapping):
        p.add(KEY, "必须是映射")
        return
    for key in sorted(set(map(str, data)) - _SECTION_KEYS):
        p.add(f"{KEY}.{key}", "未知字段")
    if "hours_per_day" in data:
        _check_amount(data["hours_per_day"], f"{KEY}.hours_per_day", p, upper=Decimal(24))
    rates = data.get("role_cost_rates") or {}
    if not isinstance(rates, Mapping):
        p.add(f"{KEY}.role_cost_rates", "必须是 角色: 每小时成本 的映射")
        rates = {}
    for role, rate in rates.items():
        if role not in ROLES:
            p.add(f"{KEY}.role_cost_rates.{role}", f"未知角色,可选:{', '.join(ROLES)}")
        _check_amount(rate, f"{KEY}.role_cost_rates.{role}", p, upper=Decimal(100000))
    accounts = data.get("journal_accounts") or {}
    if not isinstance(accounts, Mapping):
        p.add(f"{KEY}.journal_accounts", "必须是 用途: 科目编码 的映射")
        accounts = {}
    for name, code in accounts.items():
        if name not in DEFAULT_ACCOUNT_CODES:
            p.add(f"{KEY}.journal_accounts.{name}", f"可选:{', '.join(DEFAULT_ACCOUNT_CODES)}")
        elif not isinstance(code, str) or not _ACCOUNT_CODE.fullmatch(code):
            p.add(f"{KEY}.journal_accounts.{name}", "科目编码须为 1-20 位字母、数字、. 或 -")


def save(session: Session, data: Mapping[str, Any]) -> bool:
    """Store the (validated) section; True when it changed."""
    value = {k: data[k] for k in sorted(_SECTION_KEYS) if k in data}
    value = {
        k: {kk: str(vv) for kk, vv in v.items()} if isinstance(v, Mapping) else str(v)
        for k, v in value.items()
    }
    row = session.get(CompanySetting, KEY)
    if row is None:
        session.add(CompanySetting(key=KEY, value=value))
        return True
    if row.value == value:
        return False
    row.value = value
    return True
