from app.web import CrmInterface
from flask_babel import lazy_gettext as _l
from wtforms.validators import Optional, ValidationError

from flask_babel import gettext

from app.domain.accounts import email_error, normalise_email
from app.models import Contact

from .base import CrmModelView
from .fields import TagListField, account_field
from .labels import COLUMN_LABELS
from .validators import UniqueLower, range_validators


def valid_email(form, field):
    error = email_error(field.data)
    if error:
        raise ValidationError(gettext(error))


class ContactView(CrmModelView):
    record_page = ("AccountPageView.show", "account_id")  # where a saved form lands
    datamodel = CrmInterface(Contact)
    class_permission_name = "Contact"
    list_title = _l("Contacts")
    show_title = _l("Contact")
    add_title = _l("Add contact")
    edit_title = _l("Edit contact")
    label_columns = COLUMN_LABELS
    list_columns = ["name", "account", "email", "phone", "role_tags", "influence_score"]
    show_columns = ["name", "account", "email", "phone", "telegram_handle", "role_tags", "influence_score",
                    "created_at", "updated_at"]
    add_columns = ["account", "name", "email", "phone", "telegram_handle", "role_tags", "influence_score"]
    edit_columns = add_columns
    search_columns = ["name", "email", "phone"]
    order_columns = ["name", "email", "influence_score"]
    base_order = ("name", "asc")
    add_form_extra_fields = {"account": account_field(), "role_tags": TagListField(_l("Role tags"), description=_l("Comma separated, e.g. decision maker, budget"))}
    edit_form_extra_fields = add_form_extra_fields
    validators_columns = {
        "email": [Optional(), valid_email,
                  UniqueLower(Contact.email, normalise_email, _l("A contact with this e-mail already exists."))],
        **range_validators("influence_score"),
    }
