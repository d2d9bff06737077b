"""`cdop db`, `keys`, `demo`, `smtp-sink`, `dev-cert`: setting the system up."""

from __future__ import annotations

from pathlib import Path

import click

from cdop.cli.common import business_date, current_settings, friendly_errors, today_option

# ------------------------------------------------------------------------------ db / keys


@click.group()
def db() -> None:
    """The CDOP database."""


@db.command("upgrade")
@friendly_errors
def db_upgrade() -> None:
    """Create or migrate the CDOP database to the latest schema (safe to rerun)."""
    from cdop.store.db import migrate

    migrate(current_settings())
    click.echo("CDOP database is up to date")


@click.group()
def keys() -> None:
    """Encryption keys for identifiable fields."""


@keys.command("generate")
def keys_generate() -> None:
    """Print a new Fernet key (put it first in CDOP_ENCRYPTION_KEYS to rotate)."""
    from cryptography.fernet import Fernet

    click.echo(Fernet.generate_key().decode())


@keys.command("rotate")
@friendly_errors
def keys_rotate() -> None:
    """Re-encrypt every identifiable field with the first key, and re-index."""
    from cdop.confidentiality.keys import rotate

    counts = rotate(current_settings())
    click.echo(f"re-encrypted {counts['rows']} row(s) and {counts['files']} file(s)")
    if counts["old_links"]:
        # Links issued before their digests were kept cannot be re-keyed.
        click.echo(f"{counts['old_links']} live portal link(s) issued before this version are found only "
                   f"under the older key: keep it until {counts['old_links_until']}, when they expire")
    else:
        click.echo("the older keys can now be removed")


@click.group()
def files() -> None:
    """The encrypted files kept for cases (returned forms, attachments, case reports), in the
    store CDOP_FILE_STORE names: CDOP_HOME, the database or an object store."""


@files.command("check")
@friendly_errors
def files_check() -> None:
    """List stored files no row points at, and rows whose file is missing (exit 1 if any)."""
    from cdop.store.db import unit_of_work
    from cdop.store.files import check_files

    settings = current_settings()
    with unit_of_work(settings) as uow:
        result = check_files(uow.session, settings)
    for path in result.files_without_row:
        click.echo(f"stored file with no row: {path}")
    for what in result.rows_without_file:
        click.echo(f"row with no file: {what}")
    if not result.clean:
        click.echo(f"{len(result.files_without_row)} file(s) with no row, "
                   f"{len(result.rows_without_file)} row(s) with no file (keys in the {settings.file_store.split(':')[0]} store)")
        raise SystemExit(1)
    click.echo("every stored file has its row and every row its file")


@files.command("import-local")
@friendly_errors
def files_import_local() -> None:
    """Move the case files kept under CDOP_HOME into the configured store (after changing
    CDOP_FILE_STORE, or on upgrading a PostgreSQL deployment, whose default is now the
    database). Each file is copied, read back and compared before the local copy is
    removed; safe to run again."""
    from cdop.store.files import import_local

    settings = current_settings()
    moved, already = import_local(settings)
    click.echo(f"{moved} file(s) moved into the {settings.file_store.split(':')[0]} store; "
               f"{already} were there already")


# ---------------------------------------------------------------------------- demo, mail


@click.group()
def demo() -> None:
    """Demo data (fictional)."""


@demo.command("load")
@today_option
@friendly_errors
def demo_load(today) -> None:
    """Load the demo agency directory and about 20 fictional cases (once)."""
    from cdop.dev.demo import load_demo

    result = load_demo(current_settings(), today=business_date(today))
    click.echo(result)


@click.command("smtp-sink")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=8025, type=int)
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path))
def smtp_sink_cmd(host: str, port: int, directory: Path | None) -> None:
    """Run the local SMTP server that keeps every message as an .eml file."""
    from cdop.dev.smtp_sink import serve_forever

    serve_forever(directory or current_settings().mail_dir, host, port)


@click.command("dev-cert")
@click.option("--host", required=True, help="Host name the certificate is for (e.g. mailpit).")
@click.option("--dir", "directory", required=True, type=click.Path(file_okay=False, path_type=Path))
def dev_cert(host: str, directory: Path) -> None:
    """Make a self-signed certificate for a mail catcher (trying the stack out only)."""
    from cdop.dev.devcert import make_certificate

    cert, key = make_certificate(directory, host)
    # The catcher's container reads the key as another user; it is a throwaway demo key.
    key.chmod(0o644)
    click.echo(f"certificate {cert}  key {key}")


COMMANDS = (db, keys, files, demo, smtp_sink_cmd, dev_cert)
