from app.web import CrmInterface
from marshmallow import ValidationError

from app.domain.accounts import email_error
from app.models import Contact

from .base import AuditedRecordApi

FIELDS = ["account_id", "name", "email", "phone", "telegram_handle", "role_tags", "influence_score"]


def valid_email(value):
    error = email_error(value)
    if error:
        raise ValidationError(error)


class ContactApi(AuditedRecordApi):
    audit_entity = "contact"
    resource_name = "contacts"
    datamodel = CrmInterface(Contact)
    class_permission_name = "Contact"
    list_columns = ["id"] + FIELDS + ["created_at", "updated_at"]
    show_columns = list_columns
    add_columns = FIELDS
    edit_columns = FIELDS
    search_columns = ["name", "email", "account_id"]
    order_columns = ["name", "email", "created_at"]
    validators_columns = {"email": valid_email}
