"""Pages for daily work: the accounts list, the account page and the opportunity page. Thin:
queries come from app/services/account_pages.py, changes from the shared services."""
from __future__ import annotations


from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import gettext

from app.domain.errors import DomainError
from app.domain.evidence import parse_evidence_text
from app.extensions import db
from app.models import Opportunity, User
from app.models.choices import ACCOUNT_STATUSES, SEGMENTS
from app.queries import account_pages as pages
from app.domain.next_step import next_step_state
from app.queries.inbox import messages_for_account
from app.services.records import add_contact
from app.settings import stage_table
from app.services.offers import create_offer_from
from app.services.opportunities import add_note, create_opportunity, parse_uuid
from app.web import change_request, local_now, request_actor
from app.views.labels import CHOICE_LABELS, COLUMN_LABELS

from .history import evidence_messages, group_events, group_timeline
from .helpers import remember_names, arg_int, parse_amount, stage_requirements, template_helpers


def remember_merged_names(account_id) -> None:
    """The accounts merged into this one by name in its history (the read scope hides them)."""
    from flask import g

    from app.queries.merge_preview import merged_account_names

    names = g.setdefault("crm_names", {})
    for key, name in merged_account_names(account_id).items():
        names[("Account", key)] = names[("Account", str(key))] = name


def flash_errors(exc: DomainError) -> None:
    """A refusal as messages naming their fields in words ("E-mail: …", not "email: …")."""
    for field, messages in exc.messages.items():
        for message in messages:
            label = COLUMN_LABELS.get(field) if field not in ("_schema", "id", "actor") else None
            flash(f"{label}: {gettext(message)}" if label else gettext(message), "danger")


class AccountPageView(BaseView):
    route_base = "/accounts"
    default_view = "index"
    class_permission_name = "AccountPage"
    method_permission_name = {"index": "read", "show": "read", "add_contact": "write", "add_opportunity": "write",
                              "add_account_note": "note"}
    base_permissions = ["can_read", "can_write", "can_note"]

    @expose("/")
    @has_access
    def index(self):
        """Accounts with health, active projects, open deals and last touch."""
        owner = request.args.get("owner", "")
        filters = pages.AccountFilters(
            status=request.args.get("status") if request.args.get("status") in ACCOUNT_STATUSES else None,
            segment=request.args.get("segment") if request.args.get("segment") in SEGMENTS else None,
            owner_id=int(owner) if owner.isdigit() else None, search=request.args.get("q") or None,
            order=request.args.get("order", "name"))
        page = arg_int("page")
        total, rows = pages.account_rows(filters, page)
        users = db.session.query(User.id, User.first_name, User.last_name).order_by(User.first_name).all()
        return self.render_template("pages/accounts.html", rows=rows, total=total, page=page, size=pages.LIST_PAGE,
                                    filters=filters, owner=owner, users=users, statuses=ACCOUNT_STATUSES,
                                    segments=SEGMENTS, labels=CHOICE_LABELS, now=local_now(), **template_helpers())

    @expose("/<uuid:pk>")
    @has_access
    def show(self, pk):
        """One account: contacts, projects, deals and the timeline."""
        return self._page(pk)

    def _page(self, pk, typed: dict | None = None, warning: dict | None = None):
        """The account page; after a refused quick action, with what was typed still in its form
        (and that form open), answered 422 so nothing suggests it was saved (200 when the form only
        waits for "add anyway" after a duplicate warning). A merged account's page is its survivor's."""
        try:
            data = pages.account_page(pk, arg_int("timeline_page"))
        except DomainError:
            from app.queries.duplicates import survivor_of

            survivor = survivor_of(pk)
            if survivor is None or survivor == pk:
                abort(404)
            flash(gettext("This account was merged into the one shown here."), "info")
            return redirect(url_for("AccountPageView.show", pk=survivor))
        data["timeline"] = group_timeline(data["timeline"])
        remember_names(data.pop("user_names"))
        remember_merged_names(pk)
        return self.render_template("pages/account.html", labels=CHOICE_LABELS,
                                    evidence_messages=evidence_messages(e["item"] for e in data["timeline"]),
                                    now=local_now(),
                                    next_step_state=next_step_state, typed=typed or {}, dup=warning, **data,
                                    **template_helpers()), 200 if warning else 422 if typed else 200

    @expose("/<uuid:pk>/contacts", methods=["POST"])
    @has_access
    def add_contact(self, pk):
        """Quick action: a contact on this account."""
        form = request.form
        tags = [t.strip() for t in form.get("role_tags", "").split(",") if t.strip()]
        try:
            pages.get_account(pk)
            warning = self._similar_contacts(pk, form)
            if warning:
                return self._page(pk, {"action": "contact", **request.form.to_dict()}, warning)
            add_contact(change_request({"account_id": pk, "name": form.get("name", ""), "email": form.get("email"),
                                        "phone": form.get("phone") or None, "role_tags": tags}))
            flash(gettext("Contact added."), "success")
        except DomainError as exc:
            flash_errors(exc)
            return self._page(pk, {"action": "contact", **request.form.to_dict()})
        return redirect(url_for("AccountPageView.show", pk=pk))

    @staticmethod
    def _similar_contacts(pk, form) -> dict | None:
        """Contacts of this account the typed one would duplicate (unless "Add anyway" was pressed)."""
        if form.get("create_anyway") or not form.get("name", "").strip():
            return None
        from app.queries.duplicates import similar_contacts
        from .duplicates import candidate_rows

        found = similar_contacts(pk, name=form.get("name", "").strip(), email=form.get("email") or None,
                                 phone=form.get("phone") or None)
        if not found or any("email" in c.reasons for c in found):
            return None  # the same e-mail is refused by the save itself, with the field named (422)
        return {"title": gettext("This account has a similar contact already:"),
                "candidates": candidate_rows(found, "contact"), "form_id": None, "button": gettext("Add anyway")}

    @expose("/<uuid:pk>/opportunities", methods=["POST"])
    @has_access
    def add_opportunity(self, pk):
        """Quick action: a new lead on this account, owned by the user."""
        try:
            amount = parse_amount(request.form.get("amount_estimate"))
            opp, _ = create_opportunity(change_request({
                "account_id": pk, "name": request.form.get("name", "").strip() or None,
                "amount_estimate": amount, "owner_user_id": request_actor().id}))
            return redirect(url_for("OpportunityPageView.show", pk=opp.id))
        except DomainError as exc:
            flash_errors(exc)
            return self._page(pk, {"action": "deal", **request.form.to_dict()})

    @expose("/<uuid:pk>/notes", methods=["POST"])
    @has_access
    def add_account_note(self, pk):
        """Quick action: a note on one of the account's deals (a deal of another account, or one the
        user cannot see, does not exist here)."""
        deal = db.session.get(Opportunity, parse_uuid(request.form.get("opportunity_id"))) \
            if parse_uuid(request.form.get("opportunity_id")) else None
        if deal is None or deal.account_id != pk:
            abort(404)
        try:
            add_note(change_request({"text": request.form.get("text", "")}), request.form.get("opportunity_id"))
            flash(gettext("Note added."), "success")
        except DomainError as exc:
            flash_errors(exc)
            return self._page(pk, {"action": "note", **request.form.to_dict()})
        return redirect(url_for("AccountPageView.show", pk=pk))


class OpportunityPageView(BaseView):
    route_base = "/opportunities"
    default_view = "show"
    class_permission_name = "OpportunityPage"
    method_permission_name = {"show": "read", "note": "note", "offer": "write"}
    base_permissions = ["can_read", "can_write", "can_note"]

    @expose("/<uuid:pk>")
    @has_access
    def show(self, pk):
        """Key fields, next step, evidence, history and actions of one deal."""
        try:
            data = pages.opportunity_page(pk)
        except DomainError:
            abort(404)
        table = stage_table()
        now = local_now()
        return self.render_template(
            "pages/opportunity.html", labels=CHOICE_LABELS, now=now, stages=table.names(),
            next_step=next_step_state(data["opp"].next_step_due_at, now, data["opp"].status),
            requirements=stage_requirements(),
            labels_for_js={s: str(CHOICE_LABELS[s]) for s in table.names()},
            recent_messages=messages_for_account(data["opp"].account_id, 15),
            actions=group_events(data["history"]), evidence_messages=data["messages"],
            **data, **template_helpers())

    @expose("/<uuid:pk>/notes", methods=["POST"])
    @has_access
    def note(self, pk):
        """Add a note (with optional evidence lines) to the deal's history."""
        try:
            add_note(change_request({"text": request.form.get("text", "")},
                                    evidence_refs=parse_evidence_text(request.form.get("evidence", ""))), pk)
            flash(gettext("Note added."), "success")
        except DomainError as exc:
            flash_errors(exc)
        return redirect(url_for("OpportunityPageView.show", pk=pk))

    @expose("/<uuid:pk>/offer", methods=["POST"])
    @has_access
    def offer(self, pk):
        """Create a draft offer from the deal and open it for editing; when the deal has a draft
        already, open that one (unless the form asks for another on purpose)."""
        draft = pages.draft_offer(pk)
        if draft is not None and not request.form.get("another"):
            flash(gettext("This deal already has a draft offer: here it is."), "info")
            return redirect(url_for("OfferView.edit", pk=draft.id))
        try:
            offer = create_offer_from(change_request(), pk)
        except DomainError as exc:
            flash_errors(exc)
            return redirect(url_for("OpportunityPageView.show", pk=pk))
        flash(gettext("Draft offer created from the deal: check and edit it."), "success")
        return redirect(url_for("OfferView.edit", pk=offer.id))
