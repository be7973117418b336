"""All entity models; importing this package registers them on flask_appbuilder.Model.metadata."""
from .user import User  # FAB's user (ab_* tables on the same metadata) with the CRM's time zone

from .account import Account
from .aggregates import (AccountCount, AccountOpenTotal, AccountPipeline, AccountPipelineOutside, BoardClosedDay,
                         BoardOpenTotal)
from .audit import AuditEvent
from .contact import Contact
from .duplicate import DuplicateDecision, SimilarName
from .event import OpportunityEvent
from .inbound import InboundMessage, InboundThread, InboundThreadEvent
from .limits import LoginFailure
from .offer import Offer
from .opportunity import Opportunity
from .project import Project, ProjectMember, ProjectNote
from . import reports  # noqa: F401  (the dashboard's maintained aggregates)

__all__ = [
    "Account", "Contact", "Opportunity", "OpportunityEvent", "Project", "ProjectMember", "ProjectNote", "Offer",
    "InboundThread", "InboundMessage", "InboundThreadEvent", "AuditEvent", "User", "DuplicateDecision", "SimilarName", "LoginFailure",
]
