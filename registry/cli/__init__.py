"""The registry's own commands, one module per group; create_app attaches them to the app's CLI.

`registry init|release|aggregates` (database), `users`, `demo|seed-demo` (demo), `export`, `fhir|import`
(interchange), `backup|restore|erasures` (backups), `mail|remind-updates` (mail). The `registry` command
itself, with `serve`, is registry.__main__.
"""

from __future__ import annotations

from flask import Flask

from registry.cli import backups, database, demo, export, interchange, mail, users

COMMANDS = (
    database.init_command,
    database.release_command,
    database.aggregates_group,
    users.users_group,
    demo.demo_command,
    demo.seed_demo_command,
    export.export_command,
    interchange.fhir_group,
    interchange.import_group,
    backups.backup_command,
    backups.restore_command,
    backups.erasures_group,
    mail.mail_group,
    mail.remind_updates_command,
)


def register_commands(app: Flask) -> None:
    """Attach the registry's commands to app.cli."""
    for command in COMMANDS:
        app.cli.add_command(command)
