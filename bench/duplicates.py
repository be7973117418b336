"""Duplicate detection at a studio's scale: the proposed pairs of 20,000 accounts (one statement:
a UNION of indexed self-joins by domain, name, similar name, contact phone and e-mail), through
the query and through `GET /api/v1/accounts/duplicates`: p50/p95 ms and SQL statements.

    .venv/bin/python -m bench.duplicates [accounts] [repeats]      (default 20000, 20)

Accounts get made-up names (random syllables, so that unrelated names are not trigram-similar)
and one or two contacts; about 4% of them are seeded duplicates of another (another legal form
and quotes, a subdomain, a typo, a shared contact phone, a contact e-mail on the other's domain).
Rows are written with SQL (keys computed by app.domain.duplicates), not through the ORM.
"""
from __future__ import annotations

import random
import sys
import time
import uuid

from sqlalchemy import create_engine, text

from bench import pages
from bench.generate import create_database, drop_database

# what migration 0010 does once for existing accounts (later ones: the flush listener)
SIMILAR_NAMES_PG = """
INSERT INTO account_similar_names (a_id, b_id)
SELECT a.id, b.id FROM accounts a JOIN accounts b
  ON a.name_key % b.name_key AND similarity(a.name_key, b.name_key) >= 0.5
 AND a.name_key <> b.name_key AND a.id < b.id
"""

# every consonant-vowel syllable: names as varied in their trigrams as real ones
SYLLABLES_RU = " ".join(c + v for c in "бвгджзклмнпрстфхцчшщ" for v in "аеиоуыюя")
SYLLABLES_EN = " ".join(c + v for c in "bcdfghjklmnprstvwxz" for v in "aeiouy")
FORMS = ("ООО", "АО", "ИП", "LLC", "Inc.", "Ltd", "GmbH", "")


def _word(rng: random.Random, syllables: list[str]) -> str:
    return "".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))).capitalize()


def accounts_and_contacts(n: int, seed: int = 15):
    """(accounts, contacts) rows; the last ~4% of accounts duplicate an earlier one."""
    from app.domain.duplicates import email_domain, name_key, registrable_domain

    rng = random.Random(seed)
    ru, en = SYLLABLES_RU.split(), SYLLABLES_EN.split()
    accounts, contacts, names = [], [], set()
    for i in range(n):
        kind = rng.random() if i > n // 10 else 1.0
        if kind < 0.01:  # the same company, another legal form and quotes
            base = accounts[rng.randrange(len(accounts))]
            name, domain = f'{rng.choice(FORMS)} «{base["name"]}»', None
        elif kind < 0.02:  # the same site under a subdomain
            base = next(a for a in iter(lambda: accounts[rng.randrange(len(accounts))], None) if a["domain"])
            name, domain = _word(rng, en) + " " + _word(rng, en), f"shop{i}.{base['domain']}"
        elif kind < 0.03:  # a typo
            base = accounts[rng.randrange(len(accounts))]
            name, domain = base["name"][:-1] + "ь", None
        else:
            syllables = ru if rng.random() < 0.6 else en
            name = f"{_word(rng, syllables)} {_word(rng, syllables)}"
            while name in names:
                name += " " + _word(rng, syllables)
            domain = f"{_word(rng, en).lower()}{i}.ru"
        names.add(name)
        account_id = uuid.uuid4()
        accounts.append({"id": account_id, "name": name, "domain": domain, "name_key": name_key(name) or None,
                         "domain_key": registrable_domain(domain)})
        for c in range(rng.randint(1, 2)):
            phone = f"+79{rng.randrange(10**9):09d}"
            email = f"p{i}c{c}@{domain}" if domain and rng.random() < 0.5 else f"p{i}c{c}@gmail.com"
            if 0.03 <= kind < 0.035 and c == 0:  # a contact phone shared with an earlier account's contact
                phone = contacts[rng.randrange(len(contacts))]["phone"]
            if 0.035 <= kind < 0.04 and c == 0:  # an e-mail on an earlier account's domain
                other = accounts[rng.randrange(len(accounts) - 1)]
                email = f"p{i}c{c}@{other['domain']}" if other["domain"] else email
            contact_name = f"{_word(rng, ru)} {_word(rng, ru)}"
            contacts.append({"id": uuid.uuid4(), "account_id": account_id, "name": contact_name, "email": email,
                             "phone": phone, "name_key": name_key(contact_name) or None,
                             "domain_key": email_domain(email)})
    return accounts, contacts


def fill(url: str, n: int) -> dict:
    accounts, contacts = accounts_and_contacts(n)
    engine = create_engine(url)
    with engine.begin() as conn:
        owners = [r[0] for r in conn.execute(text("SELECT id FROM ab_user ORDER BY id"))]
        for i, row in enumerate(accounts):
            row["owner"] = owners[i % len(owners)]
        conn.execute(text("INSERT INTO accounts (id, name, domain, name_key, domain_key, owner_user_id, segment, "
                          "status, created_at, updated_at) VALUES (:id, :name, :domain, :name_key, :domain_key, "
                          ":owner, 'smb', 'active', now() - random() * interval '300 days', now())"), accounts)
        conn.execute(text("INSERT INTO contacts (id, account_id, name, email, phone, name_key, domain_key, role_tags, "
                          "created_at, updated_at) VALUES (:id, :account_id, :name, :email, :phone, :name_key, "
                          ":domain_key, '{}', now(), now())"), contacts)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        started = time.perf_counter()
        conn.execute(text(SIMILAR_NAMES_PG))
        print(f"similar-name pairs computed once in {time.perf_counter() - started:.1f} s")
        conn.execute(text("VACUUM ANALYZE accounts"))
        conn.execute(text("VACUUM ANALYZE contacts"))
        conn.execute(text("VACUUM ANALYZE account_similar_names"))
    engine.dispose()
    return {"accounts": len(accounts), "contacts": len(contacts)}


def timed(call, engine, repeats: int) -> tuple[float, float, int]:
    """p50/p95 ms and the statements of one call."""
    times, statements = pages.timed(call, engine, repeats)
    return (*pages.p50_p95(times), len(statements))


def main(accounts: int = 20_000, repeats: int = 20) -> None:
    from app import create_app, scope
    from app.extensions import db
    from app.queries.duplicates import account_pairs, contact_pairs

    url = create_database("crm_bench_dup")
    try:
        print(f"data: {fill(url, accounts)}")
        app = create_app(SQLALCHEMY_DATABASE_URI=url, WTF_CSRF_ENABLED=False)
        with app.app_context():
            engine = db.engine
            with scope.scoped(scope.SYSTEM):
                _, total = account_pairs(page_size=1)
                _, contacts_total = contact_pairs(page_size=1)
            print(f"proposed pairs: {total} accounts, {contacts_total} contacts")
            print(f"\n{'what':44} {'p50 ms':>8} {'p95 ms':>8} {'SQL':>5}")
            with scope.scoped(scope.SYSTEM):
                for name, call in (("account_pairs, first page of 50", lambda: account_pairs()),
                                   ("account_pairs, page 10", lambda: account_pairs(page=10)),
                                   ("account_pairs, reason=domain", lambda: account_pairs(reason="domain")),
                                   ("account_pairs, one owner", lambda: account_pairs(owner_id=2)),
                                   ("contact_pairs, first page", lambda: contact_pairs())):
                    p50, p95, statements = timed(call, engine, repeats)
                    print(f"{name:44} {p50:8.1f} {p95:8.1f} {statements:5d}")
        client = app.test_client()
        token = client.post("/api/v1/security/login", json={"username": "owner0", "password": "bench-pass-1",
                                                            "provider": "db"}).get_json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        for name, path in (("GET /api/v1/accounts/duplicates", "/api/v1/accounts/duplicates"),
                           ("GET …/duplicates?reason=similar_name", "/api/v1/accounts/duplicates?reason=similar_name"),
                           ("GET /api/v1/contacts/duplicates", "/api/v1/contacts/duplicates")):
            def call(path=path):
                response = client.get(path, headers=headers)
                assert response.status_code == 200, (path, response.status_code, response.get_data(as_text=True))
            p50, p95, statements = timed(call, engine, repeats)
            print(f"{name:44} {p50:8.1f} {p95:8.1f} {statements:5d}")
    finally:
        drop_database(url)


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
