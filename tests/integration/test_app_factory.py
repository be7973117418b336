"""create_app() can build several apps in one process (tests, workers) and each has every route."""
import pytest

from app import create_app

pytestmark = pytest.mark.smoke


def test_two_apps_in_a_row_have_the_same_routes(database_url):
    first = create_app(SQLALCHEMY_DATABASE_URI=database_url, TESTING=True)
    second = create_app(SQLALCHEMY_DATABASE_URI=database_url, TESTING=True)
    rules = lambda app: sorted(r.rule for r in app.url_map.iter_rules())  # noqa: E731
    assert rules(first) == rules(second)
    assert "/api/v1/opportunities/<uuid:pk>" in rules(second)
    assert len(rules(second)) > 100


def test_secret_key_is_generated_once_and_kept(tmp_path, monkeypatch):
    import config

    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setattr(config, "INSTANCE_DIR", tmp_path)
    first = config._secret_key()
    assert (tmp_path / "secret_key").read_text() == first and len(first) >= 32
    assert config._secret_key() == first
