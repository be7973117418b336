"""The kanban board: a column per stage, aggregates over whole columns, 25 cards each and more on
demand; moves go through the REST API (PATCH) so the same rules answer."""
from __future__ import annotations

from flask import abort, flash, jsonify, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import gettext

from app.domain.errors import DomainError
from app.extensions import db
from app.models import Account, User
from app.models.choices import FORECAST_CATEGORIES
from app.queries import board
from app.queries.projects import project_choices
from app.settings import stage_table
from app.services.opportunities import accept_proposal
from app.web import change_request, local_now, owner_ids

from .helpers import (back_to, can, arg_int, arg_project, parse_amount, arg_uuid, sees_everyone, money, move_options, plain_labels, stage_requirements,
                      template_helpers)


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
            summaries=board.summaries(filters), cards=board.first_cards(filters),
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
        return self.render_template("board/_cards.html", cards=cards, stage=stage, now=local_now(),
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
