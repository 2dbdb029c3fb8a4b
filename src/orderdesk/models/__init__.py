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
from orderdesk.models.ar_balance import ArBalance, ArBalanceState  # issue 13: aging kept on write
from orderdesk.models.base import Base, Money, UTCDateTime, utcnow
from orderdesk.models.catalog import OrderType, ServiceItem
from orderdesk.models.change import ChangeRequest, ContractAmendment, OrderVersion
from orderdesk.models.client_link import ClientLink
from orderdesk.models.contract import Contract
from orderdesk.models.customer import Contact, Customer, Opportunity
from orderdesk.models.import_run import ImportRun  # issue 13: imports
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
    DeliverableVersion,
    Milestone,
    Project,
    ProjectExpense,
    ProjectMember,
    ProjectTemplate,
    Task,
    TimeEntry,
)
from orderdesk.models.session import ApiSession
from orderdesk.models.settings_store import CompanySetting
from orderdesk.models.staff import BusinessLine, Department, Staff, StaffRole
from orderdesk.models.ticket import Ticket, TicketEvent, TicketQueue, TicketSla
from orderdesk.models.wecom import ChatBinding, InboundEvent, OutboxMessage

__all__ = [
    "Activity",
    "ApiSession",
    "ApprovalAction",
    "ApprovalAssignment",
    "ApprovalFlow",
    "ApprovalRequest",
    "ApprovalStep",
    "ArBalance",
    "ArBalanceState",
    "Attachment",
    "Base",
    "BusinessLine",
    "ChangeRequest",
    "ChatBinding",
    "ClientLink",
    "CompanySetting",
    "Contact",
    "Contract",
    "ContractAmendment",
    "CreditApplication",
    "Customer",
    "Delegation",
    "Deliverable",
    "DeliverableVersion",
    "Department",
    "ImportRun",  # issue 13: imports
    "InboundEvent",
    "Installment",
    "Invoice",
    "Milestone",
    "Money",
    "Opportunity",
    "Order",
    "OrderLine",
    "OrderType",
    "OrderVersion",
    "OutboxMessage",
    "PaymentPlan",
    "Project",
    "ProjectExpense",
    "ProjectMember",
    "ProjectTemplate",
    "Receipt",
    "ReceiptAllocation",
    "ServiceItem",
    "Staff",
    "StaffRole",
    "Task",
    "Ticket",
    "TicketEvent",
    "TicketQueue",
    "TicketSla",
    "TimeEntry",
    "UTCDateTime",
    "utcnow",
]
