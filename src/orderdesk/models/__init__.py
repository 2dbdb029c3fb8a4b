"""Typed SQLAlchemy models, one module per aggregate. Importing this package registers them all."""

from orderdesk.models.activity import Activity, Attachment
from orderdesk.models.approval import (
    ApprovalAction,
    ApprovalAssignment,
    ApprovalFlow,
    ApprovalRequest,
    ApprovalStep,
    Delegation,
)
from orderdesk.models.base import Base, Money, UTCDateTime, utcnow
from orderdesk.models.catalog import OrderType, ServiceItem
from orderdesk.models.client_link import ClientLink
from orderdesk.models.contract import Contract
from orderdesk.models.customer import Contact, Customer, Opportunity
from orderdesk.models.money import (
    CreditApplication,
    Installment,
    Invoice,
    PaymentPlan,
    Receipt,
    ReceiptAllocation,
)
from orderdesk.models.order import Order, OrderLine
from orderdesk.models.project import (
    Deliverable,
    Milestone,
    Project,
    ProjectMember,
    ProjectTemplate,
    Task,
    TimeEntry,
)
from orderdesk.models.session import ApiSession
from orderdesk.models.staff import BusinessLine, Department, Staff, StaffRole
from orderdesk.models.wecom import ChatBinding, InboundEvent, OutboxMessage

__all__ = [
    "Activity",
    "ApiSession",
    "ApprovalAction",
    "ApprovalAssignment",
    "ApprovalFlow",
    "ApprovalRequest",
    "ApprovalStep",
    "Attachment",
    "Base",
    "BusinessLine",
    "ChatBinding",
    "ClientLink",
    "Contact",
    "Contract",
    "CreditApplication",
    "Customer",
    "Delegation",
    "Deliverable",
    "Department",
    "InboundEvent",
    "Installment",
    "Invoice",
    "Milestone",
    "Money",
    "Opportunity",
    "Order",
    "OrderLine",
    "OrderType",
    "OutboxMessage",
    "PaymentPlan",
    "Project",
    "ProjectMember",
    "ProjectTemplate",
    "Receipt",
    "ReceiptAllocation",
    "ServiceItem",
    "Staff",
    "StaffRole",
    "Task",
    "TimeEntry",
    "UTCDateTime",
    "utcnow",
]
