"""The one command: migrate, sync roles, ensure the first admin, optional demo data, serve.

    python run.py            # upgrade the database to head and serve with gunicorn on HOST:PORT
    python run.py --demo     # ... and create the demo's Sales and PM users and load the demo
                             #     studio data first (idempotent)
    python run.py --no-serve # prepare the database only
"""
from __future__ import annotations

import argparse
import os
import secrets
import sys


def prepare(demo: bool) -> dict:
    """Bring the database to head, sync roles and permissions, create the first admin."""
    from flask_migrate import upgrade

    from app import create_app
    from app.security import ensure_admin, sync_roles_and_permissions

    app = create_app()
    with app.app_context():
        upgrade()
        sync_roles_and_permissions(app.appbuilder)
        password = ensure_admin(app.appbuilder)
        if password:
            print(f"Created the admin user '{app.config['CRM_ADMIN_USER']}' with password: {password}")
            print("(shown once; set CRM_ADMIN_PASSWORD to choose it yourself)")
        if demo:
            from app import scope
            from app.services.context import SYSTEM, ChangeRequest
            from app.services.demo import load_demo

            created = ensure_demo_users(app.appbuilder)
            if created:
                print("Created the demo users (passwords shown once):")
                for username, role, password in created:
                    print(f"  {username} ({role}): {password}")
            with scope.scoped(scope.SYSTEM):
                print(load_demo(ChangeRequest(SYSTEM)))
        return {"host": app.config["HOST"], "port": app.config["PORT"], "db": app.config["SQLALCHEMY_DATABASE_URI"]}


def ensure_demo_users(appbuilder) -> list[tuple[str, str, str]]:
    """The demo's Sales and PM users (app.services.demo.DEMO_USERS), created once with a generated
    password; a user that exists is kept as it is. Returns (user name, role, password) of each
    user created."""
    from app.services.demo import DEMO_USERS

    sm = appbuilder.sm
    created = []
    for username, role_name, first_name, last_name in DEMO_USERS:
        if sm.find_user(username=username):
            continue
        role = sm.find_role(role_name)
        if role is None:
            print(f"No role {role_name!r} in FAB_ROLES: the demo user {username!r} is not created.")
            continue
        password = secrets.token_urlsafe(12)
        if not sm.add_user(username=username, first_name=first_name, last_name=last_name,
                           email=f"{username}@studio.local", role=role, password=password):
            raise RuntimeError(f"could not create the demo user {username!r}")
        created.append((username, role_name, password))
    return created


def gunicorn_command(host: str, port: int, workers: int | None = None, threads: int | None = None,
                     access_log: str | None = "-") -> list[str]:
    """gunicorn serving the app factory: WEB_CONCURRENCY worker processes (default 2, one per core
    of the measured 2-core machine) of GUNICORN_THREADS threads each (default 4); README "Scaling"
    and "Load test" give the measurements behind the defaults. The SQLAlchemy pool of each process
    follows GUNICORN_THREADS (config.py, `_engine_options`)."""
    workers = workers or int(os.environ.get("WEB_CONCURRENCY", "2"))
    threads = threads or int(os.environ.get("GUNICORN_THREADS", "4"))
    args = [sys.executable, "-m", "gunicorn", "--bind", f"{host}:{port}", "--workers", str(workers),
            "--threads", str(threads), "--graceful-timeout", "10",
            # idle keep-alive connections wait in the worker's poller, not in a thread; closing them
            # later than a client's (or the load balancer's) idle pause avoids the race where a
            # request is sent on a connection the server is closing
            "--keep-alive", os.environ.get("GUNICORN_KEEPALIVE", "75")]
    if access_log:
        args += ["--access-logfile", access_log]
    return args + ["app:create_app()"]


def serve(host: str, port: int) -> None:
    """Replace this process with gunicorn serving the app factory."""
    args = gunicorn_command(host, port)
    print(f"Studio CRM on http://{host}:{port}/")
    sys.stdout.flush()
    os.execv(sys.executable, args)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run Studio CRM")
    parser.add_argument("--demo", action="store_true", help="load the demo studio data (idempotent)")
    parser.add_argument("--no-serve", action="store_true", help="prepare the database and exit")
    args = parser.parse_args(argv)
    info = prepare(args.demo)
    if not args.no_serve:
        serve(info["host"], info["port"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
