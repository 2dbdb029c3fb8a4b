"""Typed SQLAlchemy models, one module per aggregate. Importing this package registers them all."""

from models.activity import Activity, Attachment
from models.approval import (
    ApprovalAction,
    ApprovalAssignment,
    ApprovalFlow,
    ApprovalRequest,
    ApprovalStep,
    Delegation,
)
from models.base import Base, Money, UTCDateTime, utcnow
from models.catalog import OrderType, ServiceItem
from models.contract import Contract
from models.customer import Contact, Customer, Opportunity
from models.money import Installment, Invoice, PaymentPlan, Receipt, ReceiptAllocation
from models.order import Order, OrderLine
from models.project import Deliverable, Milestone, Project, ProjectTemplate, Task, TimeEntry
from models.session import ApiSession
from models.staff import BusinessLine, Department, Staff, StaffRole
from models.wecom import ChatBinding, InboundEvent, OutboxMessage

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
    "Contact",
    "Contract",
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
