from app.web import CrmInterface

from app.models import Offer

from .base import CrmModelApi

FIELDS = ["opportunity_id", "title", "amount", "currency", "discount_percent", "status"]


class OfferApi(CrmModelApi):
    resource_name = "offers"
    datamodel = CrmInterface(Offer)
    class_permission_name = "Offer"
    list_columns = ["id"] + FIELDS + ["created_by_user_id", "created_at", "updated_at"]
    show_columns = list_columns
    add_columns = FIELDS
    edit_columns = FIELDS
    search_columns = ["title", "status", "opportunity_id"]
    order_columns = ["title", "status", "created_at"]
