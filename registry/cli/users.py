"""`registry users create|set-role|list|set-password|disable|enable|delete`: accounts, each change on the
audit trail."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext
from sqlalchemy import func, select

from registry.accounts import audit, auth
from registry.contributions import rights
from registry.models import DoctorRating, Experience, User, UserSession
from registry.platform.extensions import db
from scales import ACCOUNT_ROLE


@click.group("users")
def users_group():
    """Manage accounts: create, list, set a password or role, disable, enable, delete (each on the audit trail)."""


def _user_or_fail(email: str):
    user = auth.find_user(email)
    if user is None:
        raise click.ClickException(f"no account with the email {auth.normalize_email(email)}")
    return user


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@users_group.command("create")
@click.argument("email")
@click.option(
    "--role",
    type=click.Choice(ACCOUNT_ROLE.codes),
    default="patient",
    show_default=True,
    help="What the account may do.",
)
@click.option("--pseudonym", help="Public name; a random one is chosen when omitted.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_appcontext
def users_create(email: str, role: str, pseudonym: str | None, password_stdin: bool):
    """Create an account with EMAIL (the password is prompted for)."""
    password = _read_password(password_stdin)
    try:
        # An operator vouches for the address: the account comes confirmed.
        user = auth.create_user(email, password, pseudonym or auth.unique_pseudonym(email), role, confirmed=True)
        db.session.commit()
    except ValueError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    click.echo(f"Created {user.email} as {user.account_role} (public name {user.pseudonym}).")


@users_group.command("set-role")
@click.argument("email")
@click.argument("role", type=click.Choice(ACCOUNT_ROLE.codes))
@with_appcontext
def users_set_role(email: str, role: str):
    """Give the account with EMAIL the ROLE."""
    user = _user_or_fail(email)
    auth.set_role(user, role)
    db.session.commit()
    click.echo(f"{user.email} is now {role}.")


@users_group.command("list")
@click.option("--role", type=click.Choice(ACCOUNT_ROLE.codes), help="Only accounts with this role.")
@click.option("--disabled", is_flag=True, help="Only disabled accounts.")
@with_appcontext
def users_list(role: str | None, disabled: bool):
    """List accounts: email, role, whether the address is confirmed, disabled, created, devices logged in.

    Listing shows participants' addresses, so it goes on the audit trail.
    """

    sessions = select(UserSession.user_id, func.count().label("n")).group_by(UserSession.user_id).subquery()
    query = (
        select(User, func.coalesce(sessions.c.n, 0))
        .outerjoin(sessions, sessions.c.user_id == User.id)
        .order_by(User.id)
    )
    if role:
        query = query.where(User.account_role == role)
    if disabled:
        query = query.where(User.disabled_at.is_not(None))
    rows = db.session.execute(query).all()
    audit.record("user.list", "user", None, {"role": role, "disabled": disabled, "count": len(rows)})
    db.session.commit()
    click.echo(f"{'id':>6}  {'email':<36} {'role':<10} {'confirmed':<9} {'state':<8} {'created':<10} devices")
    for user, devices in rows:
        click.echo(
            f"{user.id:>6}  {user.email:<36} {user.account_role:<10} {'yes' if user.email_confirmed else 'no':<9} "
            f"{'disabled' if user.disabled_at else 'active':<8} {user.created_at:%Y-%m-%d} {devices:>7}"
        )
    click.echo(f"{len(rows):,} account{'s' if len(rows) != 1 else ''}.")


@users_group.command("set-password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_appcontext
def users_set_password(email: str, password_stdin: bool):
    """Set a new password for the account with EMAIL (prompted); every device it is logged in on is logged out."""
    user = _user_or_fail(email)
    password = _read_password(password_stdin)
    if len(password) < auth.MIN_PASSWORD_LENGTH:
        raise click.ClickException(f"the password must have at least {auth.MIN_PASSWORD_LENGTH} characters")
    auth.change_password(user, password, keep_current=False)
    audit.record("user.password", "user", user.id, {"by_operator": True})
    db.session.commit()
    click.echo(f"New password set for {user.email}; every device was logged out.")


@users_group.command("disable")
@click.argument("email")
@with_appcontext
def users_disable(email: str):
    """Stop the account with EMAIL from logging in and end its sessions; nothing it wrote is deleted."""
    user = _user_or_fail(email)
    if not auth.set_disabled(user, True):
        click.echo(f"{user.email} is disabled already.")
        return
    audit.record("user.disable", "user", user.id)
    db.session.commit()
    click.echo(
        f"{user.email} is disabled: it cannot log in, and every device was logged out. "
        "Its experiences and ratings still count; `registry users enable` undoes this."
    )


@users_group.command("enable")
@click.argument("email")
@with_appcontext
def users_enable(email: str):
    """Let a disabled account with EMAIL log in again."""
    user = _user_or_fail(email)
    if not auth.set_disabled(user, False):
        click.echo(f"{user.email} is not disabled.")
        return
    audit.record("user.enable", "user", user.id)
    db.session.commit()
    click.echo(f"{user.email} can log in again.")


@users_group.command("delete")
@click.argument("email")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def users_delete(email: str, yes: bool):
    """Delete the account with EMAIL and everything in it, as the participant's own deletion does.

    Their experiences and ratings leave every count, report and later export in the same transaction.
    """

    user = _user_or_fail(email)
    n_exp = db.session.scalar(select(func.count()).where(Experience.user_id == user.id))
    n_rat = db.session.scalar(select(func.count()).where(DoctorRating.user_id == user.id))
    if not yes:
        click.confirm(
            f"Delete {user.email} ({user.pseudonym}) with {n_exp} experiences and {n_rat} doctor ratings, for good?",
            abort=True,
        )
    address = user.email
    counts = rights.delete_account(user, by_operator=True)
    db.session.commit()
    click.echo(
        f"Deleted {address} with {counts['experiences']} experiences and {counts['ratings']} doctor ratings; "
        "they no longer count anywhere."
    )
