"""People and organisation: staff, their roles, departments and business lines."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from orderdesk.models.base import Base, Money, TimestampMixin

if TYPE_CHECKING:
    from orderdesk.models.customer import Customer

ROLES = ("sales", "presales", "pm", "delivery", "finance", "manager", "gm", "admin")
# The roles that may act on anyone's orders (edit others' orders, see every approval, ...).
MANAGING_ROLES = ("manager", "gm", "admin")
ROLE_NAMES_ZH = {
    "sales": "销售",
    "presales": "售前",
    "pm": "项目经理",
    "delivery": "交付",
    "finance": "财务",
    "manager": "经理",
    "gm": "总经理",
    "admin": "管理员",
}


class BusinessLine(Base):
    __tablename__ = "business_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))


class Department(Base):
    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    wecom_id: Mapped[int | None] = mapped_column(unique=True)
    name: Mapped[str] = mapped_column(String(64))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    # The WeCom userid of the department head (no foreign key: staff and departments reference
    # each other, and the directory sync may name a head before the member is synced).
    head_userid: Mapped[str | None] = mapped_column(String(64))

    parent: Mapped[Department | None] = relationship(remote_side=[id])
    members: Mapped[list[Staff]] = relationship(
        back_populates="department", foreign_keys="Staff.department_id"
    )


class StaffRole(Base):
    __tablename__ = "staff_roles"
    __table_args__ = (UniqueConstraint("staff_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))

    staff: Mapped[Staff] = relationship(back_populates="role_rows")


class Staff(TimestampMixin, Base):
    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    userid: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    hourly_cost_rate: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    mobile: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(128))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    department: Mapped[Department | None] = relationship(
        back_populates="members", foreign_keys=[department_id]
    )
    manager: Mapped[Staff | None] = relationship(remote_side=[id], back_populates="reports")
    reports: Mapped[list[Staff]] = relationship(back_populates="manager")
    role_rows: Mapped[list[StaffRole]] = relationship(
        back_populates="staff", cascade="all, delete-orphan", lazy="selectin"
    )
    customers: Mapped[list[Customer]] = relationship(back_populates="owner")

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(r.role for r in self.role_rows)

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    def add_role(self, role: str) -> None:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
        if role not in self.roles:
            self.role_rows.append(StaffRole(role=role))

    def remove_role(self, role: str) -> None:
        self.role_rows[:] = [r for r in self.role_rows if r.role != role]

    def __repr__(self) -> str:
        return f"<Staff {self.userid} {self.name}>"
