"""A rison filter on a UUID column never answers 500: equality only, a malformed id matches nothing."""
import pytest


@pytest.mark.parametrize("resource", ["projects", "contacts", "opportunities", "offers", "audit_events"])
def test_a_malformed_uuid_filter_matches_nothing(client, api, clean_db, resource):
    column = {"projects": "account_id", "contacts": "account_id", "opportunities": "account_id",
              "offers": "opportunity_id", "audit_events": "entity_id"}[resource]
    url = f"/api/v1/{resource}/?q=(filters:!((col:{column},opr:eq,value:'not-a-uuid')))"
    response = client.get(url, headers=api("Owner"))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["count"] == 0
    like = client.get(f"/api/v1/{resource}/?q=(filters:!((col:{column},opr:ct,value:'abc')))", headers=api("Owner"))
    assert like.status_code == 400
