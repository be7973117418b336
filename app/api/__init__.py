"""REST APIs under /api/v1 (FAB ModelRestApi with UUID keys, plus the spec's contract endpoints)."""


def register_apis(appbuilder) -> None:
    from .account import AccountApi
    from .contact import ContactApi
    from .event import AuditEventApi, OpportunityEventApi
    from .inbound import InboundThreadApi
    from .metrics import MetricsApi
    from .offer import OfferApi
    from .opportunity import OpportunityApi
    from .project import ProjectApi, ProjectMemberApi

    for api in (AccountApi, ContactApi, OpportunityApi, OpportunityEventApi, AuditEventApi, ProjectApi, ProjectMemberApi, OfferApi,
                InboundThreadApi, MetricsApi):
        appbuilder.add_api(api)
