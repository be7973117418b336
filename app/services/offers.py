"""Offers: the smallest honest version of spec 0012 — a draft made from an opportunity's values."""
from __future__ import annotations

from app.extensions import db
from app.models import Offer

from .context import ChangeRequest
from .opportunities import get_opportunity
from .transaction import transaction


@transaction
def create_offer_from(request: ChangeRequest, opp_id) -> Offer:
    """A draft offer with the deal's title, amount, currency and discount, created by the actor."""
    opp = get_opportunity(opp_id)
    offer = Offer(opportunity_id=opp.id, title=opp.name, amount=opp.amount_estimate, currency=opp.currency,
                  discount_percent=opp.discount_percent, status="draft", created_by_user_id=request.actor.id)
    db.session.add(offer)
    db.session.flush()
    return offer
