"""Command-line tasks: flask --app app init-db | demo | token --phone PHONE."""
from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlmodel import Session, select

from volunteers import accounts, db, demo
from volunteers.models import User
from volunteers.photos import PhotoStore


def engine():
    return current_app.extensions["volunteers.engine"]


@click.command("init-db")
@with_appcontext
def init_db() -> None:
    """Create or upgrade the database schema (Alembic migrations)."""
    db.migrate(engine())
    click.echo("Database schema is up to date.")


@click.command("demo")
@with_appcontext
@click.option("--if-empty", is_flag=True, help="Do nothing (and succeed) when the database already has data.")
def load_demo(if_empty: bool) -> None:
    """Fill an empty database with the demo town 青石镇 (password demo1234 for every account)."""
    db.migrate(engine())
    with Session(engine()) as session:
        if db.has_data(session):
            if if_empty:
                click.echo("The database already has data; demo town not loaded.")
                return
            raise click.ClickException("The database already has data; the demo town is only loaded into an empty one.")
        summary = demo.build(session, store=PhotoStore(current_app.config["DATA_DIR"]))
    click.echo(f"Demo town loaded: {summary}")
    click.echo("Log in as volunteer 13800000201, officer 13800000101 or coordinator 13800000000, password demo1234.")


@click.command("token")
@with_appcontext
@click.option("--phone", required=True, help="The account's phone number.")
@click.option("--label", default="", help="What the token is for (a device or script), shown on the account page.")
def token(phone: str, label: str) -> None:
    """Print a new API token for the account with this phone number."""
    with Session(engine()) as session:
        user = session.exec(select(User).where(User.phone == accounts.normalise_phone(phone))).first()
        if user is None:
            raise click.ClickException(f"No account with phone {phone}.")
        click.echo(accounts.issue_token(session, user=user, label=label))


def init_app(app: Flask) -> None:
    """Register the commands."""
    for command in (init_db, load_demo, token):
        app.cli.add_command(command)
