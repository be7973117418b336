from app.web import CrmInterface
from marshmallow import ValidationError

from app.domain.accounts import email_error
from app.models import Contact

from flask_appbuilder.api import expose, safe
from flask_appbuilder.security.decorators import permission_name, protect

from app.services.merge import merge_contacts

from .base import AuditedRecordApi
from .duplicates import MERGE_DOC, MergedRecords

FIELDS = ["account_id", "name", "email", "phone", "telegram_handle", "role_tags", "influence_score"]


def valid_email(value):
    error = email_error(value)
    if error:
        raise ValidationError(error)


class ContactApi(MergedRecords, AuditedRecordApi):
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
    method_permission_name = {**AuditedRecordApi.method_permission_name, "merge": "write"}

    @expose("/<uuid:pk>/merge", methods=["POST"])
    @protect()
    @safe
    @permission_name("merge")
    def merge(self, pk):
        return self.merge_answer(merge_contacts, pk)

    merge.__doc__ = MERGE_DOC.format(what="contacts of the same account")
