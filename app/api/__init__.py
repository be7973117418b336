"""REST APIs under /api/v1 (FAB ModelRestApi with UUID keys, plus the spec's contract endpoints)."""


def register_apis(appbuilder) -> None:
    from . import openapi
    from .account import AccountApi
    from .contact import ContactApi
    from .duplicates import AccountDuplicatesApi, ContactDuplicatesApi
    from .event import AuditEventApi, OpportunityEventApi
    from .inbound import InboundThreadApi
    from .metrics import MetricsApi
    from .offer import OfferApi
    from .opportunity import OpportunityApi
    from .project import ProjectApi, ProjectMemberApi

    for api in (AccountApi, ContactApi, OpportunityApi, OpportunityEventApi, AuditEventApi, ProjectApi, ProjectMemberApi, OfferApi,
                InboundThreadApi, MetricsApi, AccountDuplicatesApi, ContactDuplicatesApi):
        appbuilder.add_api(api)
    openapi.install(appbuilder)
    _token_refusals(appbuilder.sm.jwt_manager)


def _token_refusals(jwt_manager) -> None:
    """A missing, malformed, invalid, expired or revoked JWT is a 401 `{"message": …}` (never
    Flask-JWT-Extended's 422 `{"msg": …}`). Only the answers nobody else has set are replaced."""
    from flask import jsonify
    from flask_babel import gettext
    from flask_jwt_extended import default_callbacks as defaults

    def unauthorized(*_args):
        response = jsonify(message=gettext(
            "Not signed in: the token is missing, invalid, expired or revoked. Log in again."))
        response.status_code = 401
        response.headers["WWW-Authenticate"] = "Bearer"
        return response

    for loader in ("invalid_token", "expired_token", "unauthorized", "revoked_token", "needs_fresh_token",
                   "user_lookup_error", "token_verification_failed"):
        if getattr(jwt_manager, f"_{loader}_callback", None) is getattr(defaults, f"default_{loader}_callback"):
            getattr(jwt_manager, f"{loader}_loader")(unauthorized)
