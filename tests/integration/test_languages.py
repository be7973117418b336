"""The studio works in Russian; English stays complete."""
import pytest

pytestmark = pytest.mark.smoke


def test_russian_labels_on_generated_pages(client, as_role, clean_db):
    as_role("Sales", "ru")
    page = client.get("/opportunityview/add").get_data(as_text=True)
    assert "Новая сделка" in page and "Стадия" in page and "Квалифицирована" in page
    assert "Клиенты" in client.get("/accountview/list/").get_data(as_text=True)


def test_english_labels_on_generated_pages(client, as_role, clean_db):
    as_role("Sales", "en")
    page = client.get("/opportunityview/add").get_data(as_text=True)
    assert "Add opportunity" in page and "Qualified" in page


def test_api_errors_follow_the_language(client, api, clean_db):
    response = client.post("/api/v1/opportunities/?_l_=ru", json={"account_id": "00000000-0000-0000-0000-000000000000",
                                                                  "name": "x"}, headers=api("Sales"))
    assert response.status_code == 422
    assert response.get_json()["message"]["account_id"] == ["Такого клиента нет."]


def test_api_speaks_english_to_scripts_and_russian_when_asked(client, api, clean_db):
    body = {"account_id": "00000000-0000-0000-0000-000000000000", "name": "x"}
    english = client.post("/api/v1/opportunities/", json=body, headers=api("Sales"))
    assert english.get_json()["message"]["account_id"] == ["No such account."]
    russian = client.post("/api/v1/opportunities/", json=body, headers={**api("Sales"), "Accept-Language": "ru-RU,ru;q=0.9"})
    assert russian.get_json()["message"]["account_id"] == ["Такого клиента нет."]
