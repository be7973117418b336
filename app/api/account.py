from flask_appbuilder.models.sqla.interface import SQLAInterface

from app.models import Account

from .base import CrmModelApi

FIELDS = ["name", "domain", "industry", "segment", "status", "owner_user_id", "icp_fit_score", "icp_fit_reason"]


class AccountApi(CrmModelApi):
    resource_name = "accounts"
    datamodel = SQLAInterface(Account)
    class_permission_name = "Account"
    list_columns = ["id"] + FIELDS + ["last_touch_at", "created_at", "updated_at"]
    show_columns = list_columns
    add_columns = FIELDS
    edit_columns = FIELDS
    search_columns = ["name", "domain", "segment", "status", "owner_user_id"]
    order_columns = ["name", "domain", "status", "last_touch_at", "created_at"]
