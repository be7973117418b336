from app.web import CrmInterface
from flask_babel import lazy_gettext as _l
from wtforms.validators import Optional, ValidationError

from flask_babel import gettext

from sqlalchemy import func, select

from app.domain.accounts import domain_error, normalise_domain
from app.extensions import db
from app.models import Account
from app.models.choices import ACCOUNT_STATUSES, SEGMENTS

from .base import CrmModelView
from .fields import enum_fields, evidence_field
from .labels import COLUMN_LABELS
from .validators import range_validators


def valid_domain(form, field):
    error = domain_error(field.data)
    if error:
        raise ValidationError(gettext(error))


def unique_domain(form, field):
    """One account per domain: the error names the account that has it, with a link to it."""
    from .duplicates import domain_taken_message

    domain = normalise_domain(field.data)
    if not domain:
        return
    current = getattr(form, "_id", None)
    existing = db.session.scalar(select(Account).where(func.lower(Account.domain) == domain.lower(),
                                                       *([Account.id != current] if current else [])).limit(1))
    if existing is not None:
        raise ValidationError(domain_taken_message(existing))


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
        "domain": [Optional(), valid_domain, unique_domain],
        **range_validators("icp_fit_score"),
    }
    # the generated forms with the "possible duplicates" warning above them (pages/_duplicate_warning.html)
    add_template = "crm/account_add.html"
    edit_template = "crm/account_edit.html"

    def check_form(self, form, pk) -> bool:
        """The domain's checks, then the duplicate warning: similar accounts are shown before
        saving (on edit only when the name or the domain changes); "Create anyway" saves."""
        if not super().check_form(form, pk):
            return False
        from .duplicates import warn_similar_accounts

        name, domain = form.name.data, form.domain.data
        if pk is not None:
            item = self.datamodel.get(pk)
            if item is not None and (item.name or "").strip() == (name or "").strip() \
                    and (item.domain or None) == normalise_domain(domain):
                return True
        return warn_similar_accounts(name, domain, exclude_ids=[pk] if pk is not None else (),
                                     form_id="model_form", editing=pk is not None)
