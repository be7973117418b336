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


# The studio's people in the demo besides its first user (the admin): run.py --demo creates them
# (FAB's security manager, passwords printed once) and load_demo finds them by user name. Without
# them (e.g. `flask crm demo` on a database with only the admin) the first user plays every part.
DEMO_USERS = (
    # user name, role, first name, last name
    ("sales", "Sales", "Мария", "Соколова"),
    ("pm", "PM", "Павел", "Орлов"),
)


def _people() -> tuple[int | None, int | None, int | None]:
    """(the first user, the demo's Sales user, the demo's PM user) as ids."""
    first = db.session.scalar(select(User.id).order_by(User.id).limit(1))
    found = dict(db.session.execute(select(User.username, User.id).where(
        User.username.in_([username for username, *_ in DEMO_USERS]))).all())
    return first, found.get(DEMO_USERS[0][0], first), found.get(DEMO_USERS[1][0], first)


def _acting(user_id: int | None) -> Actor:
    """The demo writes as the studio's people, with every right (it is loaded by the system)."""
    return Actor(user_id, may_reopen=True, all_projects=True, all_accounts=True, writes_all=True)


@transaction
def load_demo(request: ChangeRequest, seed: int = 7) -> str:
    """Load the demo studio once, in one unit of work; a second call adds nothing.

    Accounts and deals are shared between the first user and the Sales user (each owns every
    other account and its deals, open ones in every stage); the PM user leads three active
    projects on Sales accounts, with the Sales user and the first user as members, and the first
    deal of each of those accounts lies inside its project, owned by the Sales user. Each deal's
    history is written by its owner; the records by the first user (request.actor is who asked)."""
    if db.session.scalar(select(Account.id).where(Account.domain == ACCOUNTS[0][1])):
        return "Demo data is already loaded: nothing added."
    rnd = random.Random(seed)
    studio, sales, pm = _people()
    now = datetime.now(timezone.utc)
    who = ChangeRequest(_acting(studio), evidence_refs=[{"type": "note", "text": "Соответствие ICP оценили на первом созвоне"}],
                        at=now - timedelta(days=130))
    accounts = []
    for i, (name, domain, industry, segment) in enumerate(ACCOUNTS):
        account = Account(name=name, domain=domain, industry=industry, segment=segment,
                          status="active" if i % 7 else "dormant", owner_user_id=sales if i % 2 == 0 else studio,
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
    projects = {}
    for i, account in enumerate(accounts[:6]):
        led_by_pm = i % 2 == 0  # the Sales user's accounts
        project = Project(account=account, name=f"{account.name}: {rnd.choice(DEALS)}",
                          status="active" if led_by_pm else rnd.choice(["active", "planned", "done"]),
                          pm_user_id=pm if led_by_pm else studio,
                          start_date=date.today() - timedelta(days=rnd.randint(10, 120)))
        members = {studio: "lead designer", **({sales: "account manager"} if led_by_pm else {})}
        for user_id, role in members.items():
            if user_id != project.pm_user_id:
                project.members.append(ProjectMember(user_id=user_id, role=role))
        save_record(who, project)
        if led_by_pm:
            projects[account.id] = project.id
    db.session.flush()
    for n in range(40):
        account = accounts[n % len(accounts)]
        owner = sales if n % 2 == 0 else studio
        project_id = projects.get(account.id) if n < len(accounts) else None
        _demo_opportunity(rnd, account, FINAL[n % len(FINAL)], owner, project_id, now, n)
    return "Demo data loaded: 20 accounts, their contacts, 40 opportunities with history, 6 projects."


def _demo_opportunity(rnd, account, target: str, owner, project_id, now, n: int) -> None:
    """Create one deal in the past and walk it to its target stage, each step with evidence, as
    its owner would."""
    start = now - timedelta(days=rnd.randint(20, 120))
    steps = PATH[: PATH.index(target) + 1] if target in PATH else PATH[: rnd.randint(2, 5)] + [target]
    who = _acting(owner)
    opp, _ = create_opportunity(ChangeRequest(who, {
        "account_id": account.id, "name": f"{rnd.choice(DEALS)} — {account.name}", "stage": "lead",
        "amount_estimate": Decimal(rnd.randrange(150, 4000) * 1000), "currency": "RUB",
        "source": rnd.choice(["referral", "website", "telegram", "event", "chatwoot"]), "project_id": project_id,
        "owner_user_id": owner, "close_date_target": (now + timedelta(days=rnd.randint(-10, 90))).date()},
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
