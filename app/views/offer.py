from app.web import CrmInterface
from flask_babel import lazy_gettext as _l

from app.models import Offer
from app.models.choices import OFFER_STATUSES

from .base import CrmModelView
from .helpers import Money
from .fields import AmountField, enum_fields, evidence_field, opportunity_field
from .labels import COLUMN_LABELS
from .validators import range_validators


class OfferInterface(CrmInterface):
    """Offers as the lists and show pages read them: the amount with its own currency."""

    def _get_attr_value(self, item, col):
        if col == "amount":
            return Money(item.amount, item.currency)
        return super()._get_attr_value(item, col)


class OfferView(CrmModelView):
    record_page = ("OpportunityPageView.show", "opportunity_id")  # where a saved form lands
    datamodel = OfferInterface(Offer)
    class_permission_name = "Offer"
    list_title = _l("Offers")
    show_title = _l("Offer")
    add_title = _l("Add offer")
    edit_title = _l("Edit offer")
    label_columns = COLUMN_LABELS
    list_columns = ["title", "opportunity", "amount", "discount_percent", "status", "created_by"]  # amount with its currency
    show_columns = list_columns + ["created_at", "updated_at"]
    add_columns = ["opportunity", "title", "amount", "currency", "discount_percent", "status", "evidence"]
    edit_columns = add_columns
    search_columns = ["title", "status"]
    base_order = ("created_at", "desc")
    add_form_extra_fields = {"opportunity": opportunity_field(), **enum_fields(status=(_l("Status"), OFFER_STATUSES, "draft")),
                             "amount": AmountField(_l("Amount")),
                             "evidence": evidence_field(_l("Required when a discount is set or changed: "
                                                           "one link or note per line."))}
    edit_form_extra_fields = add_form_extra_fields
    validators_columns = range_validators("amount", "discount_percent")
