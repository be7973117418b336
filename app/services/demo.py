"""Demo data: a design studio's realistic clients, in Russian and English (idempotent).

Every opportunity is created and moved through its stages through the same rules and audit
hook as a person would, with evidence, so the history, aging and win rate look real.
"""
from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

from sqlalchemy import select

from app.extensions import db
from app.models import Account, Contact, Project, ProjectMember, User

from .context import Actor, ChangeRequest
from .opportunities import create_opportunity, update_opportunity
from .records import save_record
from .transaction import transaction

ACCOUNTS = [
    ("Кофейня «Зерно»", "zerno-coffee.ru", "HoReCa", "smb"),
    ("ООО «СеверСтрой»", "severstroy.ru", "Строительство", "mid"),
    ("Северсталь Digital", "severstal-digital.ru", "Металлургия", "enterprise"),
    ("Nordic Furniture Co.", "nordicfurniture.com", "Retail", "mid"),
    ("Брусника", "brusnika-dev.ru", "Девелопмент", "enterprise"),
    ("Lamoda Lab", "lamoda-lab.ru", "E-commerce", "enterprise"),
    ("Студия йоги «Прана»", "prana-yoga.ru", "Wellness", "smb"),
    ("Acme Robotics", "acme-robotics.io", "Hardware", "mid"),
    ("Музей современного искусства «Гараж»", "garage-museum.org", "Культура", "custom"),
    ("GreenBox Delivery", "greenbox.delivery", "Logistics", "smb"),
    ("Банк «Точка роста»", "tochka-rosta-bank.ru", "Финансы", "enterprise"),
    ("Helix Biotech", "helixbio.com", "Biotech", "mid"),
    ("Пекарня «Хлебъ»", "hleb-bakery.ru", "HoReCa", "smb"),
    ("Vostok Games", "vostokgames.com", "Gamedev", "mid"),
    ("Школа дизайна «Линия»", "liniya-school.ru", "Образование", "smb"),
    ("Aurora Hotels", "aurorahotels.eu", "Hospitality", "enterprise"),
    ("ТЦ «Меридиан»", "meridian-mall.ru", "Ритейл", "mid"),
    ("Fintech Foundry", "fintechfoundry.co", "Finance", "custom"),
    ("Агрохолдинг «Колос»", "kolos-agro.ru", "Агро", "enterprise"),
    ("Bright Dental", "brightdental.clinic", "Healthcare", "smb"),
]

PEOPLE = [
    ("Анна Смирнова", ["decision maker"]), ("Игорь Петров", ["budget", "decision maker"]),
    ("Мария Кузнецова", ["champion"]), ("John Carter", ["decision maker"]), ("Emma Wilson", ["champion", "user"]),
    ("Дмитрий Волков", ["procurement"]), ("Ольга Лебедева", ["marketing"]), ("Liam Brown", ["technical"]),
    ("Екатерина Соколова", ["champion"]), ("Сергей Морозов", ["budget"]),
]

DEALS = [
    "Редизайн сайта", "Брендбук", "Мобильное приложение", "Website redesign", "Brand identity",
    "UX-аудит", "Дизайн-система", "Landing page", "Упаковка продукта", "Интерьер офиса",
]
PATH = ["lead", "qualified", "discovery", "proposal_sent", "negotiation"]
FINAL = PATH + ["won", "lost"]
LOST_REASONS = ["Выбрали другую студию", "Budget cut", "Проект заморожен", "Price too high"]


def _user_ids() -> list[int]:
    return list(db.session.scalars(select(User.id).order_by(User.id))) or [None]


@transaction
def load_demo(request: ChangeRequest, seed: int = 7) -> str:
    """Load the demo studio once, in one unit of work; a second call adds nothing. Its history is
    written by the first user (request.actor is who asked for it)."""
    if db.session.scalar(select(Account.id).where(Account.domain == ACCOUNTS[0][1])):
        return "Demo data is already loaded: nothing added."
    rnd = random.Random(seed)
    users = _user_ids()
    actor = users[0]
    now = datetime.now(timezone.utc)
    who = ChangeRequest(Actor(actor, may_reopen=True, all_projects=True, all_accounts=True), evidence_refs=[{"type": "note", "text": "Соответствие ICP оценили на первом созвоне"}],
                        at=now - timedelta(days=130))
    accounts = []
    for i, (name, domain, industry, segment) in enumerate(ACCOUNTS):
        account = Account(name=name, domain=domain, industry=industry, segment=segment,
                          status="active" if i % 7 else "dormant", owner_user_id=rnd.choice(users),
                          icp_fit_score=rnd.randint(30, 95), icp_fit_reason="Дизайн — часть их продукта")
        save_record(who, account)
        accounts.append(account)
        for j in range(rnd.randint(1, 3)):
            person, tags = PEOPLE[(i + j * 3) % len(PEOPLE)]
            first = person.split()[0].lower()
            save_record(who, Contact(account=account, name=person, email=f"{first}.{i}{j}@{domain}",
                                   phone=f"+7 9{rnd.randint(10, 99)} {rnd.randint(100, 999)}-{rnd.randint(10, 99)}-{rnd.randint(10, 99)}",
                                   role_tags=tags, influence_score=rnd.randint(20, 100)))
    db.session.flush()
    for n in range(40):
        _demo_opportunity(rnd, accounts[n % len(accounts)], FINAL[n % len(FINAL)], users, actor, now, n)
    for account in accounts[:6]:
        project = Project(account=account, name=f"{account.name}: {rnd.choice(DEALS)}",
                          status=rnd.choice(["active", "active", "planned", "done"]), pm_user_id=rnd.choice(users),
                          start_date=date.today() - timedelta(days=rnd.randint(10, 120)))
        project.members.append(ProjectMember(user_id=actor, role="lead designer"))
        save_record(who, project)
    db.session.flush()
    return "Demo data loaded: 20 accounts, their contacts, 40 opportunities with history, 6 projects."


def _demo_opportunity(rnd, account, target: str, users, actor, now, n: int) -> None:
    """Create one deal in the past and walk it to its target stage, each step with evidence."""
    start = now - timedelta(days=rnd.randint(20, 120))
    steps = PATH[: PATH.index(target) + 1] if target in PATH else PATH[: rnd.randint(2, 5)] + [target]
    who = Actor(actor, may_reopen=True, all_projects=True, all_accounts=True)
    opp, _ = create_opportunity(ChangeRequest(who, {
        "account_id": account.id, "name": f"{rnd.choice(DEALS)} — {account.name}", "stage": "lead",
        "amount_estimate": Decimal(rnd.randrange(150, 4000) * 1000), "currency": "RUB",
        "source": rnd.choice(["referral", "website", "telegram", "event", "chatwoot"]),
        "owner_user_id": rnd.choice(users), "close_date_target": (now + timedelta(days=rnd.randint(-10, 90))).date()},
        at=start))
    when = start
    for stage in steps[1:]:
        when = min(when + timedelta(days=rnd.randint(2, 15)), now - timedelta(hours=1))
        # Most open deals have a next step ahead; every fifth is overdue, a few are due today.
        due_day = now + timedelta(days=rnd.randint(1, 21)) if n % 5 else now - timedelta(days=rnd.randint(1, 9))
        if n % 7 == 3:
            due_day = now
        changes = {"stage": stage}
        if stage in ("qualified", "discovery", "proposal_sent", "negotiation"):
            changes["next_step_text"] = rnd.choice(["Отправить КП", "Созвон с ЛПР", "Show the moodboard", "Согласовать бюджет"])
            changes["next_step_due_at"] = datetime.combine(due_day.date(), time(23, 0), tzinfo=timezone.utc) \
                if due_day is now else datetime.combine(due_day.date(), time(11, 0), tzinfo=timezone.utc)
        if stage == "lost":
            changes["lost_reason"] = rnd.choice(LOST_REASONS)
        update_opportunity(ChangeRequest(who, changes, at=when, evidence_refs=[
            {"type": "note", "text": f"Созвон: клиент подтвердил переход в {stage}"}]), opp.id)
