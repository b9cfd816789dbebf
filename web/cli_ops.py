"""The operator's backup and restore commands (docs/operations.md)."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from bootstrap import schema
from core import backup as backups
from web.extensions import services


def _report_counts(engine: object) -> None:
    counts = backups.row_counts(engine, schema.metadata())  # type: ignore[arg-type]
    click.echo(f"Rows: {sum(counts.values())} in {len(counts)} tables")
    for name, count in counts.items():
        if count:
            click.echo(f"  {name:<32} {count}")


@click.command("backup")
@click.option("--output", "-o", required=True, type=click.Path(path_type=Path, dir_okay=False))
@with_appcontext
def backup_command(output: Path) -> None:
    """Back up the embedded SQLite database to OUTPUT while spareflow runs (online, consistent)."""
    try:
        checked = backups.backup(current_app.config["DATABASE_URL"], output)
    except backups.BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Backed up to {checked.path} (revision {checked.revision}).")
    from core.db import make_engine

    engine = make_engine(f"sqlite:///{checked.path}")
    try:
        _report_counts(engine)
    finally:
        engine.dispose()


@click.command("restore")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--force",
    is_flag=True,
    help="Replace the database even though a process has it open (stop them first if you can).",
)
@with_appcontext
def restore_command(file: Path, force: bool) -> None:
    """Restore the embedded SQLite database from FILE, then check it (row counts, stock ledger)."""
    working = services()
    working.engine.dispose()  # this process must not hold the database open itself
    try:
        checked, kept = backups.restore(file, current_app.config["DATABASE_URL"], force=force)
    except backups.BackupError as error:
        raise click.ClickException(str(error)) from None
    working.engine.dispose()
    click.echo(f"Restored {file} (revision {checked.revision}).")
    if kept:
        click.echo(f"The database it replaced is kept at {kept}.")
    current = schema.current_revision(working.engine)
    _report_counts(working.engine)
    differences = working.inventory.verify_levels()
    if differences:
        raise click.ClickException(
            f"{len(differences)} stock level(s) differ from the ledger: "
            "run spareflow stock verify for the list."
        )
    click.echo("Stock levels match the ledger.")
    if current != schema.code_head():
        click.echo(f"The restored database is at {current}: run spareflow db upgrade.")
