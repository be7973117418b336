"""All entity models; importing this package registers them on flask_appbuilder.Model.metadata."""
from flask_appbuilder.security.sqla.models import User  # noqa: F401  (ab_* tables on the same metadata)

from .account import Account
from .audit import AuditEvent
from .contact import Contact
from .event import OpportunityEvent
from .inbound import InboundMessage, InboundThread, InboundThreadEvent
from .offer import Offer
from .opportunity import Opportunity
from .project import Project, ProjectMember, ProjectNote

__all__ = [
    "Account", "Contact", "Opportunity", "OpportunityEvent", "Project", "ProjectMember", "ProjectNote", "Offer",
    "InboundThread", "InboundMessage", "InboundThreadEvent", "AuditEvent", "User",
]
