from app.web import CrmInterface
from flask_babel import lazy_gettext as _l
from wtforms.validators import Optional, ValidationError

from flask_babel import gettext

from app.domain.accounts import domain_error, normalise_domain
from app.models import Account
from app.models.choices import ACCOUNT_STATUSES, SEGMENTS

from .base import CrmModelView
from .fields import enum_fields, evidence_field
from .labels import COLUMN_LABELS
from .validators import UniqueLower, range_validators


def valid_domain(form, field):
    error = domain_error(field.data)
    if error:
        raise ValidationError(gettext(error))


class AccountView(CrmModelView):
    record_page = ("AccountPageView.show", "id")  # where a saved form lands
    datamodel = CrmInterface(Account)
    class_permission_name = "Account"
    list_title = _l("Accounts")
    show_title = _l("Account")
    add_title = _l("Add account")
    edit_title = _l("Edit account")
    label_columns = COLUMN_LABELS
    list_columns = ["name", "domain", "segment", "status", "owner", "last_touch_at"]
    show_columns = ["name", "domain", "industry", "segment", "status", "owner", "icp_fit_score",
                    "icp_fit_reason", "last_touch_at", "created_at", "updated_at"]
    add_columns = ["name", "domain", "industry", "segment", "status", "owner", "icp_fit_score", "icp_fit_reason",
                   "evidence"]
    edit_columns = add_columns
    search_columns = ["name", "domain", "segment", "status", "owner", "industry"]
    order_columns = ["name", "domain", "segment", "status", "last_touch_at"]
    base_order = ("name", "asc")
    add_form_extra_fields = {**enum_fields(segment=(_l("Segment"), SEGMENTS, "smb"),
                                           status=(_l("Status"), ACCOUNT_STATUSES, "active")),
                             "evidence": evidence_field(_l("Required when the ICP fit reason is set or changed: "
                                                           "one link or note per line."))}
    edit_form_extra_fields = add_form_extra_fields
    validators_columns = {
        "domain": [Optional(), valid_domain,
                   UniqueLower(Account.domain, normalise_domain, _l("An account with this domain already exists."))],
        **range_validators("icp_fit_score"),
    }
