"""The ``spareflow`` command: a Flask CLI group with the operator's commands."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from bootstrap import Services, schema, warn_about_providers
from core.crypto import SecretBox, SecretsError
from core.errors import DomainError
from web import create_app
from web.cli_accounts import tokens, users
from web.cli_ops import backup_command, restore_command
from web.cli_planning import planning
from web.extensions import services

log = logging.getLogger(__name__)


# The demo data and the sandboxes live in the ``demo`` package, apart from the product: only
# the commands below import it, when they run. Its extra dependency (aiosmtpd, for the SMTP
# sink) comes with ``pip install 'spareflow[demo]'`` (``make demo`` installs it).
DEMO_MODULES = ("demo", "aiosmtpd")


@contextlib.contextmanager
def _demo_package() -> Iterator[None]:
    """Turn a missing demo package (or its dependency) into a clear error, not a traceback."""
    try:
        yield
    except ModuleNotFoundError as error:
        missing = (error.name or "").split(".")[0]
        if missing not in DEMO_MODULES:
            raise
        raise click.ClickException(
            f"This command needs spareflow's demo package ({missing} is not installed): "
            "pip install 'spareflow[demo]', or run make demo."
        ) from None


def _fail(error: DomainError) -> None:
    raise click.ClickException(error.message)


def _create_cli_app() -> Flask:
    # Commands such as `db upgrade` and `secrets rotate` must run where stored secrets cannot
    # be read yet (that is what they mend); `serve` and `scheduler` check for themselves.
    # Nor do they warn about missing providers (every `db upgrade` would): `_check_secrets`,
    # called by the commands that serve or work, does.
    return create_app({"CHECK_SECRETS_AT_START": False, "WARN_ABOUT_PROVIDERS": False})


def _check_secrets() -> Services:
    """For the commands that serve or work: stored secrets readable, missing providers said.

    Returns the services, built once with the app, that the command hands to its work."""
    working = services()
    try:
        working.settings.check_readable()
    except SecretsError as error:
        raise click.ClickException(str(error)) from None
    warn_about_providers(current_app.config, working)
    return working


def _serve_worker_metrics(working: Services) -> None:
    """A worker's metrics on WORKER_METRICS_PORT, when set (docs/operations.md)."""
    from core.metrics import serve_worker_metrics

    if not (port := current_app.config.get("WORKER_METRICS_PORT")):
        return
    serve_worker_metrics(int(port), working.session_factory, working.clock, current_app.config)
    click.echo(f"metrics at http://{current_app.config['WORKER_METRICS_HOST']}:{port}/metrics")


@click.group(
    cls=FlaskGroup,
    create_app=_create_cli_app,
    add_version_option=False,
    help="spareflow: spare-parts inventory and returns.",
)
def main() -> None:
    pass


# --- database ----------------------------------------------------------------------------


@main.group()
def db() -> None:
    """Database schema (Alembic migrations)."""


@db.command("upgrade")
@click.argument("revision", default="head")
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Migrate the database to REVISION (default: the latest)."""
    url = current_app.config["DATABASE_URL"]
    try:
        schema.upgrade(url, revision, secret_box=services().settings.box)
    except SecretsError as error:
        raise click.ClickException(str(error)) from None
    click.echo(
        f"Database at {services().engine.url.render_as_string(hide_password=True)} "
        f"is at revision {schema.current_revision(services().engine)}."
    )


@db.command("current")
@with_appcontext
def db_current() -> None:
    """Show the database's migration revision."""
    click.echo(schema.current_revision(services().engine) or "empty (run: spareflow db upgrade)")


# --- users and tokens --------------------------------------------------------------------


@main.group()
def stock() -> None:
    """Stock ledger checks."""


@stock.command("verify")
@click.option("--repair", is_flag=True, help="Rewrite the stored levels from the ledger.")
@with_appcontext
def stock_verify(repair: bool) -> None:
    """Rebuild stock levels from the ledger and report every difference (exit 1 if any)."""
    inventory = services().inventory
    differences = inventory.repair_levels() if repair else inventory.verify_levels()
    for d in differences:
        click.echo(
            f"{d.sku} at {d.location}: stored on_hand={d.stored_on_hand} "
            f"reserved={d.stored_reserved} | ledger on_hand={d.ledger_on_hand} "
            f"reserved={d.ledger_reserved}"
        )
    if not differences:
        click.echo("Stock levels match the ledger.")
        return
    if repair:
        click.echo(f"Repaired {len(differences)} level(s) from the ledger.")
        return
    raise click.ClickException(
        f"{len(differences)} level(s) differ from the ledger (run with --repair to rebuild them)."
    )


# --- reorder ----------------------------------------------------------------------------


@main.group()
def reorder() -> None:
    """Reorder points and suggestions."""


@reorder.command("recompute")
@click.option("--window-days", type=click.IntRange(2, 3650), help="Days of demand history.")
@click.option("--service-level", help="e.g. 0.95 (default: REORDER_SERVICE_LEVEL).")
@with_appcontext
def reorder_recompute(window_days: int | None, service_level: str | None) -> None:
    """Recompute suggested reorder points from demand history and flag parts at their point."""
    from decimal import Decimal, InvalidOperation

    try:
        level = Decimal(service_level) if service_level else None
    except InvalidOperation:
        raise click.BadParameter("a decimal such as 0.95", param_hint="--service-level") from None
    try:
        summary = services().buying.reorder.recompute(window_days=window_days, service_level=level)
    except DomainError as error:
        _fail(error)
    click.echo(
        f"Recomputed {summary.parts} part(s) over {summary.window_days} days at service level "
        f"{summary.service_level}: {summary.parts_with_demand} with demand, "
        f"{summary.points_applied} computed point(s) changed."
    )
    click.echo(
        f"{summary.flagged} part(s) at or below their reorder point "
        f"({summary.newly_flagged} new, {summary.cleared} cleared)."
    )


# --- planning (web/cli_planning.py) -------------------------------------------------------

main.add_command(planning)
main.add_command(users)
main.add_command(tokens)
main.add_command(backup_command)
main.add_command(restore_command)


# --- demo, serving, scheduling -----------------------------------------------------------


@main.command("demo-data")
@click.option("--parts", default=300, show_default=True, help="How many parts to create.")
@click.option("--seed", default=7, show_default=True, help="Random seed (same seed, same data).")
@with_appcontext
def demo_data(parts: int, seed: int) -> None:
    """Load demo suppliers, bins, parts, stock and users (skipped if there are parts already)."""
    with _demo_package():
        from demo.data import DEMO_USERS, load_demo_data

    created = load_demo_data(services(), parts=parts, seed=seed)
    if created:
        click.echo(f"Loaded demo data: {created} parts.")
    else:
        click.echo("Demo data already present; nothing loaded.")
    click.echo("Demo sign-ins:")
    for email, role, password in DEMO_USERS:
        click.echo(f"  {role:<13} {email:<28} password: {password}")


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=int)
@with_appcontext
def serve(host: str, port: int, threads: int) -> None:
    """Serve spareflow with waitress (production: gunicorn 'web:create_app()')."""
    from waitress import serve as waitress_serve

    _check_secrets()
    click.echo(f"spareflow is running at http://{host}:{port}/  (Ctrl+C stops it)")
    waitress_serve(current_app._get_current_object(), host=host, port=port, threads=threads)  # type: ignore[attr-defined]


@main.command("scheduler")
@with_appcontext
def scheduler() -> None:
    """Run the periodic jobs (APScheduler) in the foreground."""
    from web.scheduler import build_scheduler

    working = _check_secrets()
    sched = build_scheduler(working, current_app.config)
    _serve_worker_metrics(working)
    # Quiet logs (LOG_LEVEL=WARNING, as the demo sets by default): no start-up listing either.
    if logging.getLogger().isEnabledFor(logging.INFO):
        for job in sched.get_jobs():
            click.echo(f"job {job.id}: {job.trigger}")
        click.echo("scheduler running (Ctrl+C stops it)")
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        sched.start()


# --- secrets and logs --------------------------------------------------------------------


@main.group()
def secrets() -> None:
    """Secrets stored in the database, encrypted with SPAREFLOW_ENCRYPTION_KEYS."""


@secrets.command("generate-key")
def secrets_generate_key() -> None:
    """Print a new Fernet key (put it first in SPAREFLOW_ENCRYPTION_KEYS)."""
    click.echo(SecretBox.generate_key())


@secrets.command("rotate")
@with_appcontext
def secrets_rotate() -> None:
    """Re-encrypt every stored secret under the newest key (and encrypt any plain text ones).

    Afterwards the older keys can be removed from SPAREFLOW_ENCRYPTION_KEYS.
    """
    try:
        count = services().settings.rotate()
        count += services().auth.rotate_two_factor_secrets()
    except (SecretsError, DomainError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Re-encrypted {count} stored secret(s) under the newest key.")


@main.command("prune")
@with_appcontext
def prune() -> None:
    """Delete logs older than their retention (webhook deliveries; sent e-mails' contents).

    The scheduler does this nightly; records (RMAs, refunds, the audit log) are never pruned.
    """
    counts = services().pruner.prune()
    click.echo("Pruned " + ", ".join(f"{n} {name.replace('_', ' ')}" for name, n in counts.items()))


# --- sandboxes ---------------------------------------------------------------------------


@main.group()
def sandbox() -> None:
    """Stand-in services for the demo and tests (a carrier, a refund provider)."""


@sandbox.command("carrier")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5081, show_default=True, type=int)
@click.option(
    "--webhook-url",
    default="http://127.0.0.1:5000/webhooks/carriers/sandbox",
    show_default=True,
    help="Where to send tracking webhooks.",
)
@click.option(
    "--step-seconds",
    default=3.0,
    show_default=True,
    help="Time between two scans of a parcel's journey.",
)
@click.option(
    "--auto-journey/--no-auto-journey",
    default=False,
    show_default=True,
    help="Start each labelled parcel's journey at once.",
)
@click.option("--pickup-after", default=0.0, help="With --auto-journey: seconds to the pickup.")
@click.option("--retries", default=5, show_default=True, help="Attempts per webhook delivery.")
@with_appcontext
def sandbox_carrier(
    host: str,
    port: int,
    webhook_url: str,
    step_seconds: float,
    auto_journey: bool,
    pickup_after: float,
    retries: int,
) -> None:
    """Run the sandbox carrier; it signs webhooks with SPAREFLOW_SANDBOX_WEBHOOK_SECRET."""
    from waitress import serve as waitress_serve

    with _demo_package():
        from demo.sandboxes.carrier import create_sandbox_carrier

    secret = current_app.config.get("SANDBOX_WEBHOOK_SECRET")
    if not secret:
        raise click.ClickException("Set SPAREFLOW_SANDBOX_WEBHOOK_SECRET (shared with spareflow).")
    carrier = create_sandbox_carrier(
        webhook_url,
        str(secret),
        step_seconds=step_seconds,
        auto_journey=auto_journey,
        attempts=retries,
        pickup_after=pickup_after,
    )
    click.echo(f"sandbox carrier on http://{host}:{port}/ sending webhooks to {webhook_url}")
    waitress_serve(carrier, host=host, port=port, threads=4)


@sandbox.command("refunds")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5082, show_default=True, type=int)
@click.option("--webhook-url", default=None, help="Where to send signed refund.updated events.")
@click.option("--pending", is_flag=True, help="Answer new refunds 'pending', like slow methods.")
@click.option("--settle-after", default=0.0, type=float, help="Settle pending refunds after N s.")
@with_appcontext
def sandbox_refunds(
    host: str, port: int, webhook_url: str | None, pending: bool, settle_after: float
) -> None:
    """Run the Stripe-compatible refunds sandbox (API key: SPAREFLOW_REFUNDS_API_KEY; webhooks
    signed with SPAREFLOW_STRIPE_WEBHOOK_SECRET)."""
    from waitress import serve as waitress_serve

    with _demo_package():
        from demo.sandboxes.refunds import create_refunds_sandbox

    key = str(current_app.config.get("REFUNDS_API_KEY") or "sk_test_sandbox")
    sandbox = create_refunds_sandbox(
        key,
        webhook_url=webhook_url,
        webhook_secret=str(current_app.config.get("STRIPE_WEBHOOK_SECRET") or ""),
        answer_pending=pending,
        settle_after_seconds=settle_after,
    )
    click.echo(f"refunds sandbox on http://{host}:{port}/ (Stripe-compatible /v1/refunds)")
    waitress_serve(sandbox, host=host, port=port, threads=4)


@sandbox.command("smtp")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5025, show_default=True, type=int)
@click.option(
    "--maildir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Also keep every message in this Maildir folder.",
)
def sandbox_smtp(host: str, port: int, maildir: Path | None) -> None:
    """Run an SMTP sink that accepts and keeps every e-mail (point SPAREFLOW_SMTP_HOST at it)."""
    with _demo_package():
        from demo.sandboxes.smtp import start_sink

    controller, handler = start_sink(host, port, maildir)
    click.echo(f"SMTP sink on {host}:{port}" + (f", keeping mail in {maildir}" if maildir else ""))
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()
        click.echo(f"SMTP sink stopped after {len(handler.messages)} messages")


# --- the outbox --------------------------------------------------------------------------


def _keep_working(step: Callable[[], int], interval: float, *, rest_below: int = 1) -> None:
    """Run ``step`` back to back, resting ``interval`` seconds whenever it did fewer than
    ``rest_below`` things (by default: when it found nothing).

    A dedicated worker outlives a failed run (the database restarting, a deadlock): the run's
    transaction is rolled back, so it logs the error, rests, and tries again."""
    with contextlib.suppress(KeyboardInterrupt):
        while True:
            try:
                done = step()
            except Exception:
                log.exception("a run failed; trying again in %s s", max(interval, 1.0))
                time.sleep(max(interval, 1.0))
                continue
            if done < rest_below:
                time.sleep(interval)


def _loop_options(what: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    def decorate(command: Callable[..., None]) -> Callable[..., None]:
        command = click.option(
            "--interval",
            default=1.0,
            show_default=True,
            type=click.FloatRange(0.05, 3600),
            help=f"With --loop: seconds to wait when no {what} was waiting.",
        )(command)
        return click.option(
            "--loop",
            is_flag=True,
            help="Keep working, as a dedicated worker would, until stopped (Ctrl+C or a signal).",
        )(command)

    return decorate


@main.group()
def outbox() -> None:
    """External side effects waiting to be carried out (refunds, return labels)."""


@outbox.command("drain")
@click.option("--limit", default=100, show_default=True)
@_loop_options("message")
@with_appcontext
def outbox_drain(limit: int, loop: bool, interval: float) -> None:
    """Carry out due messages now (the scheduler does this every few seconds)."""
    working = _check_secrets()
    worker = working.outbox
    if not loop:
        click.echo(f"Attempted {worker.drain(limit)} message(s).")
        return
    _serve_worker_metrics(working)
    click.echo("outbox worker draining (Ctrl+C stops it)")
    _keep_working(lambda: worker.drain(limit), interval)


@main.group()
def carriers() -> None:
    """Carrier events."""


@carriers.command("apply-events")
@click.option("--limit", default=2000, show_default=True, help="Events per run.")
@click.option(
    "--retry-failed",
    is_flag=True,
    help="First put events that failed to apply back in the queue (once their cause is fixed).",
)
@_loop_options("event")
@with_appcontext
def carriers_apply_events(limit: int, retry_failed: bool, loop: bool, interval: float) -> None:
    """Apply stored carrier events now (the scheduler does this every two seconds)."""
    working = _check_secrets()
    spareflow = working.carriers
    if retry_failed:
        click.echo(f"{spareflow.retry_failed()} failed event(s) back in the queue.")
    if not loop:
        applied = spareflow.apply_pending(limit=limit)
        click.echo(f"Processed {applied} event(s); {spareflow.pending_events()} still waiting.")
        return
    _serve_worker_metrics(working)
    click.echo("carrier event applier running (Ctrl+C stops it)")
    # Rest whenever a run drained the queue: events that trickle in are then applied a batch
    # at a time, at a fraction of the per-event cost of applying each as it lands.
    _keep_working(lambda: spareflow.apply_pending(limit=limit), interval, rest_below=limit)


@main.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option(
    "--pickup-after",
    default=300.0,
    show_default=True,
    envvar="SPAREFLOW_DEMO_PICKUP_AFTER",
    help="Seconds from a demo return's label to its pickup by the sandbox carrier.",
)
@click.option("--verbose", is_flag=True, help="Every process's log lines (the scheduler's).")
@with_appcontext
def demo(host: str, port: int, pickup_after: float, verbose: bool) -> None:
    """Run the demo: web app, scheduler, sandbox carrier and refunds sandbox together."""
    with _demo_package():
        from demo.stack import run_demo

    run_demo(host, port, click.echo, pickup_after=pickup_after, verbose=verbose)


if __name__ == "__main__":
    main()
