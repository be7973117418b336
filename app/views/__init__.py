"""Register every view and API on an AppBuilder (one call per app), and the menu they form.

One menu entry per page, each with its own label in both languages: the daily pages in the main
bar, the generated tables under "Data", FAB's user and role administration in the user menu.
"""
from flask_appbuilder.menu import Menu
from flask_babel import lazy_gettext as _l


class CrmMenu(Menu):
    """FAB's menu (config FAB_MENU) whose rarely used admin categories (FAB's "Security") are drawn
    in the user menu (templates/appbuilder/navbar_right.html) instead of the main bar, so the bar
    stays one row at 1366 px. `menu` keeps every entry: permissions, /api/v1/menu/ and `find` see
    them all; only `get_list` (FAB's navbar) leaves them out."""

    user_menu_categories = ("Security",)

    def get_list(self):
        return [item for item in self.menu if item.name not in self.user_menu_categories]

    def get_user_list(self):
        return [item for item in self.menu if item.name in self.user_menu_categories]


def register_views(appbuilder) -> None:
    from app.api import register_apis

    from .account import AccountView
    from .contact import ContactView
    from .event import AuditEventView, OpportunityEventView
    from .inbound import InboundMessageView, InboundThreadEventView, InboundThreadView
    from .offer import OfferView
    from .opportunity import OpportunityView
    from .project import ProjectMemberView, ProjectView

    from .kanban import BoardView
    from .pages import AccountPageView, OpportunityPageView

    appbuilder.add_view(BoardView, "Board", label=_l("Board"), icon="fa-columns")
    appbuilder.add_view(AccountPageView, "Client accounts", label=_l("Accounts"), icon="fa-building")
    appbuilder.add_view_no_menu(OpportunityPageView)
    from .projects import ProjectPageView

    appbuilder.add_view_no_menu(ProjectPageView)
    from .lookup import AccountLookupView, OpportunityLookupView, ProjectLookupView

    appbuilder.add_view_no_menu(AccountLookupView)
    appbuilder.add_view_no_menu(OpportunityLookupView)
    appbuilder.add_view_no_menu(ProjectLookupView)
    from .dashboard import AllAccountsView, AllOwnersView, AllProjectsView, DashboardView, StallReportView, TeamMetricsView
    from .triage import TriageView

    appbuilder.add_view(DashboardView, "Dashboard", label=_l("Dashboard"), icon="fa-line-chart")
    appbuilder.add_view(StallReportView, "Why deals stall", label=_l("Why deals stall"), icon="fa-exclamation-triangle")

    for permission_view in (TeamMetricsView, AllProjectsView, AllAccountsView, AllOwnersView):
        appbuilder.add_view_no_menu(permission_view)
    appbuilder.add_view(TriageView, "Triage", label=_l("Triage"), icon="fa-inbox")
    crm = dict(category="CRM", category_label=_l("Data"), category_icon="fa-database")
    # the daily accounts page is "Accounts" in the main bar; this is its table of every field
    appbuilder.add_view(AccountView, "Accounts", label=_l("Accounts table"), icon="fa-table", **crm)
    from .duplicates import DuplicatesView

    appbuilder.add_view(DuplicatesView, "Duplicates", label=_l("Duplicates"), icon="fa-clone", **crm)
    appbuilder.add_view(ContactView, "Contacts", label=_l("Contacts"), icon="fa-address-book", **crm)
    appbuilder.add_view(OpportunityView, "Opportunities", label=_l("Opportunities"), icon="fa-handshake-o", **crm)
    appbuilder.add_view(ProjectView, "Projects", label=_l("Projects"), icon="fa-folder-open", **crm)
    appbuilder.add_view_no_menu(ProjectMemberView)
    appbuilder.add_view(OfferView, "Offers", label=_l("Offers"), icon="fa-file-text", **crm)
    appbuilder.add_view(OpportunityEventView, "Opportunity Events", label=_l("Opportunity events"), icon="fa-history", **crm)
    appbuilder.add_view(AuditEventView, "Record changes", label=_l("Record changes"), icon="fa-list-alt", **crm)
    appbuilder.add_view(InboundThreadView, "Inbound threads", label=_l("Inbound threads"), icon="fa-comments", **crm)
    appbuilder.add_view(InboundMessageView, "Inbound messages", label=_l("Inbound messages"), icon="fa-envelope", **crm)
    appbuilder.add_view(InboundThreadEventView, "Inbound thread events", label=_l("Inbound thread events"),
                        icon="fa-list-alt", **crm)
    register_apis(appbuilder)
