"""The duplicates page (pairs of accounts and of contacts that look like one, newest first, with
their reasons in words) and the merge screen where a person picks the surviving record and, field
by field, the values that stay. Thin: the pairs come from app.queries.duplicates, every change
from the verbs of app.services.merge (which check the rights again)."""
from __future__ import annotations

import uuid

from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import gettext, ngettext
from markupsafe import Markup, escape

from app.domain.errors import ConflictError, DomainError, NotFoundError, PermissionDenied
from app.extensions import db
from app.models import Account, Contact, User
from app.queries import duplicates as dup_queries, merge_preview
from app.services import merge as merging
from app.web import change_request, request_actor

from .helpers import arg_int, arg_uuid, back_to, can, readable, template_helpers
from .labels import ACCOUNT_REASON_LABELS, CONTACT_REASON_LABELS, COLUMN_LABELS, reason_label

PAGE_SIZE = 25
def may_merge() -> bool:
    """Whether "Merge…" is offered: the merge permission (`can merge on Account`, Owner and Admin)
    with sight of everything and every owner's records, as app.services.merge requires."""
    actor = request_actor()
    return bool(getattr(actor, "may_merge", False) and actor.all_projects and actor.all_accounts and actor.writes_all)


def reasons_in_words(codes, kind: str = "account") -> str:
    return ", ".join(reason_label(code, kind) for code in codes or ())


def _ids(values) -> list[uuid.UUID]:
    """Distinct ids in the order given; anything that is not an id is left out."""
    found: list[uuid.UUID] = []
    for value in values:
        try:
            key = uuid.UUID(str(value).strip())
        except ValueError:
            continue
        if key not in found:
            found.append(key)
    return found


def merge_summary(kind: str, survivor, merged_names: list[str], moved: dict) -> str:
    """What a merge did, in a sentence ("«B» merged into «A»: 3 contacts, 1 deal … moved")."""
    names = ", ".join(f"«{name}»" for name in merged_names)
    if kind == "contact":
        return gettext("%(merged)s merged into «%(survivor)s»; conversations moved: %(threads)s.",
                       merged=names, survivor=survivor.name, threads=moved.get("threads", 0))
    parts = [ngettext("%(num)d contact", "%(num)d contacts", moved.get("contacts", 0)),
             ngettext("%(num)d deal", "%(num)d deals", moved.get("opportunities", 0)),
             ngettext("%(num)d project", "%(num)d projects", moved.get("projects", 0)),
             ngettext("%(num)d conversation", "%(num)d conversations", moved.get("threads", 0))]
    return gettext("%(merged)s merged into «%(survivor)s»; moved: %(moved)s. Both histories stay on this page.",
                   merged=names, survivor=survivor.name, moved=", ".join(parts))


# ---- warnings where duplicates are born (account form, quick actions, triage) ---------------------

def candidate_rows(candidates, kind: str = "account") -> list[dict]:
    """Candidates of similar_accounts / similar_contacts as the warning lists them: name, link,
    what else identifies them, the reasons in words."""
    rows = []
    for candidate in candidates:
        record = candidate.account if kind == "account" else candidate.contact
        if kind == "account":
            detail = " · ".join(filter(None, [record.domain, str(record.owner) if record.owner else None]))
            url = url_for("AccountPageView.show", pk=record.id)
        else:
            detail = " ".join(filter(None, [record.email, record.phone, record.telegram_handle]))
            url = None
        rows.append({"id": str(record.id), "name": record.name, "detail": detail, "url": url,
                     "reasons": reasons_in_words(candidate.reasons, kind)})
    return rows


def similar_account_candidates(name, domain, emails=(), phones=(), exclude_ids=()) -> list:
    """The accounts these typed values would duplicate (app.queries.duplicates.similar_accounts)."""
    return dup_queries.similar_accounts((name or "").strip() or None, (domain or "").strip() or None,
                                        emails=[e for e in emails if e], phones=[p for p in phones if p],
                                        exclude_ids=_ids(exclude_ids))


def warn_similar_accounts(name, domain, exclude_ids=(), form_id: str | None = None, editing: bool = False) -> bool:
    """True when the values may be saved: no similar account, or the person chose "Create anyway".
    Otherwise the candidates wait in `g.crm_duplicates` for the form's warning block."""
    if request.form.get("create_anyway"):
        return True
    found = similar_account_candidates(name, domain, exclude_ids=exclude_ids)
    if not found:
        return True
    g.crm_duplicates = {
        "title": gettext("Similar accounts exist already. Check them before saving:"),
        "candidates": candidate_rows(found), "form_id": form_id,
        "button": gettext("Save anyway") if editing else gettext("Create anyway")}
    return False


def domain_taken_message(existing) -> Markup:
    """The form error of a domain another account has: its name, as a link to it."""
    link = Markup('<a href="{}" class="existing-account" target="_blank" rel="noopener">{}</a>').format(
        url_for("AccountPageView.show", pk=existing.id), existing.name)
    return Markup(escape(gettext("An account with this domain already exists:"))) + " " + link


class DuplicatesView(BaseView):
    route_base = "/duplicates"
    default_view = "index"
    class_permission_name = "Duplicates"
    method_permission_name = {"index": "read", "contacts": "read", "merge_accounts": "read",
                              "merge_contacts": "read", "keep_separate": "write", "undo": "write"}
    base_permissions = ["can_read", "can_write"]

    # ---- the lists of pairs -----------------------------------------------------------------

    @expose("/")
    @has_access
    def index(self):
        """Pairs of accounts that look like one company, newest first; filters by reason and owner."""
        reason = request.args.get("reason") if request.args.get("reason") in ACCOUNT_REASON_LABELS else None
        owner = request.args.get("owner", "")
        owner_id = int(owner) if owner.isdigit() and len(owner) < 10 else None
        page = arg_int("page")
        pairs, total = dup_queries.account_pairs(reason=reason, owner_id=owner_id, page=page, page_size=PAGE_SIZE)
        users = db.session.query(User.id, User.first_name, User.last_name).order_by(User.first_name).all()
        return self.render_template(
            "pages/duplicates.html", tab="accounts", pairs=pairs, total=total, page=page, size=PAGE_SIZE,
            reason=reason or "", owner=owner if owner_id is not None else "", users=users,
            reasons=ACCOUNT_REASON_LABELS, kept=merge_preview.kept_separate("account"),
            may_merge=may_merge(), may_decide=can("can_write", "Duplicates"), kind="account",
            reasons_in_words=reasons_in_words, **template_helpers())

    @expose("/contacts")
    @has_access
    def contacts(self):
        """Pairs of contacts within one account that look like one person (of one account with
        `?account=`), newest first."""
        reason = request.args.get("reason") if request.args.get("reason") in CONTACT_REASON_LABELS else None
        account_id = arg_uuid("account")
        account = db.session.get(Account, account_id) if account_id else None
        page = arg_int("page")
        pairs, total = dup_queries.contact_pairs(account_id=account.id if account else None, reason=reason, page=page,
                                     page_size=PAGE_SIZE)
        return self.render_template(
            "pages/duplicates.html", tab="contacts", pairs=pairs, total=total, page=page, size=PAGE_SIZE,
            reason=reason or "", account=account, reasons=CONTACT_REASON_LABELS,
            kept=merge_preview.kept_separate("contact"), may_merge=may_merge(),
            may_decide=can("can_write", "Duplicates"), kind="contact", reasons_in_words=reasons_in_words,
            **template_helpers())

    # ---- keep separate and undo ---------------------------------------------------------------

    @expose("/keep-separate", methods=["POST"])
    @has_access
    def keep_separate(self):
        """Remember that the two records are different (the pair is not proposed again)."""
        kind = request.form.get("kind")
        ids = _ids(request.form.getlist("ids"))
        if kind not in ("account", "contact") or len(ids) != 2:
            abort(400)
        self._decide(lambda: merging.keep_separate(change_request(), kind, ids),
                     gettext("Kept separate: this pair will not be proposed again (unless you undo it below)."))
        endpoint = "DuplicatesView.contacts" if kind == "contact" else "DuplicatesView.index"
        return redirect(back_to(url_for(endpoint)))

    @expose("/decisions/<uuid:pk>/undo", methods=["POST"])
    @has_access
    def undo(self, pk):
        """Undo a "keep separate": the pair is proposed again."""
        self._decide(lambda: merging.undo_keep_separate(change_request(), pk),
                     gettext("Undone: the pair is proposed again."))
        return redirect(back_to(url_for("DuplicatesView.index")))

    def _decide(self, verb, done: str) -> None:
        """Run a keep-separate verb: a flash when done or refused by a rule; 403/404 as pages."""
        try:
            verb()
            flash(done, "success")
        except PermissionDenied:
            abort(403)
        except NotFoundError:
            abort(404)
        except DomainError as exc:
            self._flash(exc)

    # ---- the merge screens --------------------------------------------------------------------

    @expose("/accounts/merge", methods=["GET", "POST"])
    @has_access
    def merge_accounts(self):
        """Side by side: the surviving account and, field by field, the value that stays."""
        return self._merge("account")

    @expose("/contacts/merge", methods=["GET", "POST"])
    @has_access
    def merge_contacts(self):
        """The same for two contacts of one account."""
        return self._merge("contact")

    def _merge(self, kind: str):
        if not may_merge():
            abort(403)
        source = request.form if request.method == "POST" else request.args
        ids = _ids(source.getlist("ids"))[:5]
        if len(ids) < 2:
            abort(400)
        records = self._records(kind, ids)
        if records is None:
            return self._gone(kind, ids)
        if request.method == "GET":
            return self._screen(kind, records)
        return self._do_merge(kind, records)

    @staticmethod
    def _records(kind: str, ids):
        """The records to merge in the order asked, or None when one is gone (merged meanwhile)."""
        model = Contact if kind == "contact" else Account
        records = [db.session.get(model, key) for key in ids]
        if any(r is None or getattr(r, "merged_into_id", None) is not None for r in records):
            return None
        return records

    def _gone(self, kind: str, ids):
        """One of the records is merged already (or not visible): say so and go to the survivor."""
        if kind == "account":
            for key in ids:
                survivor = dup_queries.survivor_of(key)
                if survivor is not None:
                    flash(gettext("These accounts are already merged: here is the account that remains."), "warning")
                    return redirect(url_for("AccountPageView.show", pk=survivor))
        else:
            for key in ids:
                contact = db.session.get(Contact, key)
                if contact is not None:
                    flash(gettext("These contacts are already merged."), "warning")
                    return redirect(url_for("AccountPageView.show", pk=contact.account_id))
        abort(404)

    def _fields(self, kind: str):
        return merging.MERGEABLE_CONTACT_FIELDS if kind == "contact" else merging.MERGEABLE_ACCOUNT_FIELDS

    def _screen(self, kind: str, records, chosen: dict | None = None, survivor_id=None, status: int = 200,
                error: str | None = None):
        ids = [r.id for r in records]
        counts = merge_preview.contact_children(ids) if kind == "contact" else merge_preview.account_children(ids)
        if survivor_id is None:  # the record with the most attached to it, the older one on a tie
            survivor_id = max(records, key=lambda r: (sum(counts[r.id].values()), -r.created_at.timestamp())).id
        survivor = next(r for r in records if r.id == survivor_id)
        rows = []
        for field in self._fields(kind):
            values = [getattr(r, field, None) for r in records]
            shown = [readable(field, v) for v in values]
            same = len(set(shown)) == 1
            pick = (chosen or {}).get(field)
            if pick not in {str(r.id) for r in records}:  # the survivor's value, unless it has none
                own = getattr(survivor, field, None)
                pick = str(survivor.id)
                if own in (None, "", []):
                    pick = next((str(r.id) for r, v in zip(records, values) if v not in (None, "", [])), pick)
            rows.append({"field": field, "label": COLUMN_LABELS.get(field, field), "same": same,
                         "cells": [{"id": str(r.id), "text": text, "checked": pick == str(r.id)}
                                   for r, text in zip(records, shown)]})
        versions = {r.id: dup_queries.record_version(kind, r.id) for r in records}
        return self.render_template(
            "pages/merge.html", kind=kind, records=records, survivor_id=survivor_id, rows=rows, counts=counts,
            versions=versions,
            error=error, account_of={r.id: r.account for r in records} if kind == "contact" else {},
            **template_helpers()), status

    def _do_merge(self, kind: str, records):
        form = request.form
        by_id = {str(r.id): r for r in records}
        survivor = by_id.get(form.get("survivor", ""))
        if survivor is None:
            return self._screen(kind, records, status=422, error=gettext("Choose the record that stays."))
        fields = {f: form.get(f"field_{f}") for f in self._fields(kind) if form.get(f"field_{f}") in by_id}
        merged = [r for r in records if r.id != survivor.id]
        ids = [r.id for r in records]
        counts = merge_preview.contact_children(ids) if kind == "contact" else merge_preview.account_children(ids)
        moved = {}
        for record in merged:
            for name, count in counts.get(record.id, {}).items():
                moved[name] = moved.get(name, 0) + count
        extra = {}
        seen = form.get(f"version_{survivor.id}", "")
        if seen.isdigit() and len(seen) < 10:  # the survivor as the person saw it: changed since -> 409
            extra["expected_version"] = int(seen)
        verb = merging.merge_contacts if kind == "contact" else merging.merge_accounts
        merged_names = [r.name for r in merged]  # read now: afterwards the merged ones are hidden
        try:
            result = verb(change_request(**extra), survivor.id, [r.id for r in merged], fields)
        except PermissionDenied:
            abort(403)
        except NotFoundError:
            abort(404)
        except ConflictError as exc:
            message = gettext("Nothing was merged: one of these records was merged or changed by someone else "
                              "meanwhile. Check them again.")
            fresh = self._records(kind, [r.id for r in records])
            if fresh is None:
                flash(message, "danger")
                return self._gone(kind, [r.id for r in records])
            details = " ".join(gettext(m) for msgs in exc.messages.values() for m in msgs)
            return self._screen(kind, fresh, chosen=fields, survivor_id=survivor.id, status=409,
                                error=f"{message} {details}".strip())
        except DomainError as exc:
            details = " ".join(gettext(m) for msgs in exc.messages.values() for m in msgs)
            return self._screen(kind, records, chosen=fields, survivor_id=survivor.id, status=422, error=details)
        flash(merge_summary(kind, result, merged_names, moved), "success")
        if kind == "contact":
            return redirect(url_for("AccountPageView.show", pk=result.account_id))
        self._offer_contact_merge(result)
        return redirect(url_for("AccountPageView.show", pk=result.id))

    @staticmethod
    def _offer_contact_merge(account) -> None:
        """After an account merge: when contacts of the survivor now look like one person, a link to them."""
        _pairs, total = dup_queries.contact_pairs(account_id=account.id, page=0, page_size=1)
        if total:
            link = Markup('<a href="{}" class="alert-link merge-contacts-link">{}</a>').format(
                url_for("DuplicatesView.contacts", account=account.id),
                ngettext("Merge contact duplicates (%(num)d pair)", "Merge contact duplicates (%(num)d pairs)", total))
            flash(Markup(escape(gettext("Some contacts of this account now look like one person."))) + " " + link,
                  "info")

    @staticmethod
    def _flash(exc: DomainError) -> None:
        for messages in exc.messages.values():
            for message in messages:
                flash(gettext(message), "danger")
