"""The kanban board: a column per stage, aggregates over whole columns, 25 cards each and more on
demand; moves go through the REST API (PATCH) so the same rules answer."""
from __future__ import annotations

from flask import abort, flash, jsonify, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import get_translations, gettext
from markupsafe import Markup

from app.domain.errors import DomainError
from app.extensions import db
from app.models import Account, User
from app.models.choices import FORECAST_CATEGORIES
from app.queries import board
from app.queries.projects import project_choices
from app.settings import stage_table
from app.services.opportunities import accept_proposal
from app.web import change_request, local_now, owner_ids

from .helpers import (back_to, can, arg_int, arg_project, parse_amount, arg_uuid, sees_everyone, local_input_formatter, may_change, may_reopen,
                      money, move_options, plain_labels, stage_requirements, template_helpers, when_formatter)


def board_filters() -> tuple[board.BoardFilters, str]:
    """Filters from the query string; owner defaults to "mine" for those who own deals (Sales),
    "all" for Owner/Admin and for those who only read deals (a PM: the deals of their projects)."""
    owner = request.args.get("owner") or ("all" if sees_everyone() or not can("can_write", "Opportunity") else "me")
    ids = owner_ids(owner)
    category = request.args.get("forecast_category")
    account = request.args.get("account") or ""
    project, _ = arg_project()
    return board.BoardFilters(owner_ids=ids, account_id=arg_uuid("account"),
                              account_name=account.strip() or None if arg_uuid("account") is None else None,
                              forecast_category=category if category in FORECAST_CATEGORIES else None,
                              search=(request.args.get("q") or "").strip() or None, project=project), owner


def summary_json(summaries: dict) -> dict:
    return {stage: {"count": s["count"], "amount": money(s["amount"]), "weighted": money(s["weighted"])}
            for stage, s in summaries.items()}


class CardView:
    """What one card shows, computed once in Python (a template calling helpers per card costs
    more than the card's query): its state, whether it may be moved, link, amount, due time,
    the due time as the move dialog's input value and the days in stage as text."""

    __slots__ = ("card", "id", "state", "movable", "href", "amount", "due", "due_input", "days")

    def __init__(self, card, id, state, movable, href, amount, due, due_input, days):  # noqa: A002
        self.card, self.id, self.state, self.movable, self.href = card, id, state, movable, href
        self.amount, self.due, self.due_input, self.days = amount, due, due_input, days


def card_views(cards, now, open_stages) -> list[tuple[board.Card, CardView]]:
    """Each card with what it shows (the same as the template's own helpers would give: the
    viewer's zone, language and permissions of this request, asked once per page)."""
    can_reopen = may_reopen()
    # the card's link: url_for once (script root / prefix included), then the id appended
    placeholder = "00000000-0000-0000-0000-000000000000"
    show = url_for("OpportunityPageView.show", pk=placeholder)
    prefix, suffix = show.split(placeholder, 1)
    movers: dict = {}  # owner id -> may the viewer change their deals
    days_text: dict = {}  # days -> "%(days)s d in stage", as `_()` in a template renders it
    days_message = get_translations().ugettext("%(days)s d in stage")
    format_when, local_input = when_formatter(), local_input_formatter()
    times: dict = {}  # due time -> as shown (deals often share a due time)
    inputs: dict = {}  # due time -> as the move dialog's input value
    views = []
    for card in cards:
        state = card.due_state(now) if card.stage in open_stages else "closed"
        movable = False
        if not card.proposed and (card.stage in open_stages or can_reopen):
            if card.owner_user_id not in movers:
                movers[card.owner_user_id] = may_change(card.owner_user_id)
            movable = movers[card.owner_user_id]
        days = card.days_in_stage(now)
        if days not in days_text:
            days_text[days] = Markup(days_message) % {"days": days}
        due = ""
        if state not in ("closed", "none"):
            if card.next_step_due_at not in times:
                times[card.next_step_due_at] = format_when(card.next_step_due_at)
            due = times[card.next_step_due_at]
        if card.next_step_due_at not in inputs:
            inputs[card.next_step_due_at] = local_input(card.next_step_due_at)
        card_id = str(card.id)
        views.append((card, CardView(card, id=card_id, state=state, movable=movable, href=f"{prefix}{card_id}{suffix}",
                                     amount=money(card.amount, card.currency),
                                     due=due, due_input=inputs[card.next_step_due_at], days=days_text[days])))
    return views


class BoardView(BaseView):
    route_base = "/board"
    default_view = "index"
    class_permission_name = "Board"
    method_permission_name = {"index": "read", "column": "read", "summary": "read", "accept": "write"}
    base_permissions = ["can_read", "can_write"]

    @expose("/")
    @has_access
    def index(self):
        """The board."""
        filters, owner = board_filters()
        table = stage_table()
        labels = plain_labels()
        account = db.session.get(Account, filters.account_id) if filters.account_id else None
        users = db.session.query(User.id, User.first_name, User.last_name).filter(User.active.is_(True)) \
            .order_by(User.first_name).all()
        _, project = arg_project()
        return self.render_template(
            "board/board.html", stages=table.names(), semantics={s: table.get(s).semantic for s in table.names()},
            summaries=board.summaries(filters), cards=board.first_cards(filters), card_views=card_views,
            proposed=board.proposed_cards(filters), owner=owner, users=users, account=account,
            projects=project_choices(), project=project,
            filters=filters, requirements=stage_requirements(), labels=labels, page_size=board.PAGE,
            labels_for_js={s: labels[s] for s in table.names()}, move_options=move_options(table.names(), labels),
            categories=FORECAST_CATEGORIES, now=local_now(), open_stages=table.open_stages(), **template_helpers())

    @expose("/column/<stage>")
    @has_access
    def column(self, stage):
        """More cards of one column (HTML fragment)."""
        if stage not in stage_table().names():
            abort(404)
        filters, _ = board_filters()
        cards = board.more_cards(filters, stage, arg_int("offset", board.PAGE))
        labels = plain_labels()
        return self.render_template("board/_cards.html", cards=cards, stage=stage, now=local_now(), card_views=card_views,
                                    open_stages=stage_table().open_stages(), labels=labels,
                                    move_options=move_options(stage_table().names(), labels), **template_helpers())

    @expose("/summary")
    @has_access
    def summary(self):
        """Column counts and sums after a move (JSON)."""
        filters, _ = board_filters()
        return jsonify(summary_json(board.summaries(filters)))

    @expose("/accept/<uuid:pk>", methods=["POST"])
    @has_access
    def accept(self, pk):
        """Accept a proposed opportunity onto the board with its name and amount (one audited action)."""
        try:
            accept_proposal(change_request({"name": (request.form.get("name") or "").strip(),
                                            "amount_estimate": parse_amount(request.form.get("amount_estimate"))}), pk)
            flash(gettext("Opportunity accepted onto the board."), "success")
        except DomainError as exc:
            flash("; ".join(gettext(m) for msgs in exc.messages.values() for m in msgs), "danger")
        return redirect(back_to(url_for("BoardView.index")))
