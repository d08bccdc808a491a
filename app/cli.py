"""`nigran`: serve, migrate, seed and check the data from the command line."""

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from alembic import command
from alembic.config import Config

from app.core.config import PROJECT_ROOT, get_settings

cli = typer.Typer(help="Nigran: Pakistan counter-terrorism policy tracker.", no_args_is_help=True)
db_cli = typer.Typer(help="Database schema.", no_args_is_help=True)
data_cli = typer.Typer(help="The policy_data/ files.", no_args_is_help=True)
cli.add_typer(db_cli, name="db")
keys_cli = typer.Typer(help="API keys.", no_args_is_help=True)
import_cli = typer.Typer(help="Import outside data.", no_args_is_help=True)
chat_cli = typer.Typer(help="Chat conversations.", no_args_is_help=True)
cli.add_typer(data_cli, name="data")
cli.add_typer(keys_cli, name="keys")
cli.add_typer(import_cli, name="import")
cli.add_typer(chat_cli, name="chat")


def alembic_config() -> Config:
    return Config(str(PROJECT_ROOT / "alembic.ini"))


def _ensure_sqlite_folder() -> None:
    url = get_settings().database_url
    if url.startswith("sqlite") and ":///" in url:
        Path(url.split(":///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)


@db_cli.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply migrations up to REVISION (default: head)."""
    _ensure_sqlite_folder()
    command.upgrade(alembic_config(), revision)


@db_cli.command("downgrade")
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION ('base' for an empty database)."""
    command.downgrade(alembic_config(), revision)


@cli.command()
def seed(
    data_dir: Annotated[
        Path | None, typer.Option(help="Folder to load (default policy_data/).")
    ] = None,
) -> None:
    """Load policy_data/ (validated first; all or nothing; running it twice changes nothing)."""
    from app.seed.files import DataSetInvalid
    from app.seed.service import seed_database

    try:
        report = asyncio.run(seed_database(data_dir or get_settings().policy_data_dir))
    except DataSetInvalid as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    typer.echo(str(report))


@data_cli.command("check")
def data_check() -> None:
    """Validate policy_data/ and look for passages copied from the source report."""
    from app.seed.check import main

    raise typer.Exit(main([]))


async def _in_transaction(work):  # type: ignore[no-untyped-def]
    from app.core.db import begin_write, get_engine, session_factory

    try:
        async with session_factory()() as session:
            await begin_write(session)
            result = await work(session)
            await session.commit()
            return result
    finally:
        await get_engine().dispose()


@keys_cli.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help="monitor, reviewer or admin")],
    name: Annotated[str, typer.Option(help="Who the key is for")],
    days: Annotated[
        int | None, typer.Option(help="Days until it expires (default from settings)")
    ] = None,
) -> None:
    """Create an account and its key; the key is printed once, alone on the last line."""
    from app.accounts import service
    from app.accounts.models import Role

    try:
        chosen = Role(role)
    except ValueError as exc:
        raise typer.BadParameter(f"role must be one of {[r.value for r in Role]}") from exc
    issued = asyncio.run(
        _in_transaction(
            lambda s: service.create_key(
                s, name=name, role=chosen, expires_in_days=days or get_settings().key_days
            )
        )
    )
    typer.echo(
        f"created {issued.role} key {issued.prefix} for {name!r}, expires {issued.expires_at:%Y-%m-%d}"
    )
    typer.echo("store it now; it is not shown again:")
    typer.echo(issued.key)


@keys_cli.command("revoke")
def keys_revoke(
    prefix: Annotated[str, typer.Argument(help="The key's prefix (ngr_<prefix>_...)")],
) -> None:
    """Revoke a key at once."""
    from app.accounts import service
    from app.core.errors import NigranError

    try:
        asyncio.run(_in_transaction(lambda s: service.revoke_key(s, prefix=prefix)))
    except NigranError as exc:
        typer.echo(f"refused: {exc.detail}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"revoked {prefix}")


@keys_cli.command("rotate")
def keys_rotate(
    prefix: Annotated[str, typer.Argument(help="The key's prefix (ngr_<prefix>_...)")],
    days: Annotated[
        int | None, typer.Option(help="Days until the new key expires (default from settings)")
    ] = None,
) -> None:
    """Replace a key: the new one is printed once, alone on the last line; the old one keeps
    working for NIGRAN_KEY_ROTATION_GRACE_HOURS (or until its own expiry, if sooner)."""
    from app.accounts import service
    from app.core.errors import NigranError

    try:
        rotated = asyncio.run(
            _in_transaction(lambda s: service.rotate_key(s, prefix=prefix, expires_in_days=days))
        )
    except NigranError as exc:
        typer.echo(f"refused: {exc.detail}", err=True)
        raise typer.Exit(1) from exc
    expires = f"{rotated.expires_at:%Y-%m-%d}" if rotated.expires_at else "never"
    typer.echo(
        f"rotated {prefix} to {rotated.role} key {rotated.prefix}, expires {expires}; "
        f"{prefix} stops working {rotated.old_expires_at:%Y-%m-%d %H:%M} UTC"
    )
    typer.echo("store it now; it is not shown again:")
    typer.echo(rotated.key)


def _when(value) -> str:  # type: ignore[no-untyped-def]
    return f"{value:%Y-%m-%d %H:%M}" if value else "-"


@keys_cli.command("list")
def keys_list() -> None:
    """Every key with its state and dates (UTC); never a secret or a hash."""
    from app.accounts import service
    from app.core.db import get_engine, session_factory

    async def read() -> list[service.KeyListing]:
        listed: list[service.KeyListing] = []
        try:
            async with session_factory()() as session:
                while page := await service.list_keys(
                    session, after=listed[-1].id if listed else 0, limit=500
                ):
                    listed.extend(page)
        finally:
            await get_engine().dispose()
        return listed

    columns = "{:<12}  {:<8}  {:<7}  {:<16}  {:<16}  {:<16}  {:<12}  {:<12}  {}"
    typer.echo(
        columns.format(
            "prefix", "role", "state", "created", "expires", "last used", "from", "to", "name"
        )
    )
    for key in asyncio.run(read()):
        typer.echo(
            columns.format(
                key.prefix,
                key.role,
                key.state,
                _when(key.created_at),
                _when(key.expires_at),
                _when(key.last_used_at),
                key.rotated_from or "-",
                key.rotated_to or "-",
                key.name,
            )
        )


@import_cli.command("incidents")
def import_incidents(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="The CSV file.")],
    format: Annotated[
        str, typer.Option("--format", help="acled, nigran or acled-deletions")
    ] = "acled",
    dataset: Annotated[
        str | None, typer.Option(help="Name of the source set (default: the format's name).")
    ] = None,
    actor: Annotated[str, typer.Option(help="Who is importing, for the audit log.")] = "cli",
) -> None:
    """Import incident records: the whole file is checked first; one bad row imports nothing."""
    from app.incidents.imports import ImportFormat, ImportRejected, import_incidents

    try:
        chosen = ImportFormat(format)
    except ValueError as exc:
        raise typer.BadParameter(
            f"format must be one of {[f.value for f in ImportFormat]}"
        ) from exc
    content = file.read_bytes()
    rows = max(content.count(b"\n") - 1, 1)
    with typer.progressbar(length=rows, label=f"importing {file.name}", file=None) as bar:
        shown = 0

        def progress(done: int) -> None:
            nonlocal shown
            bar.update(max(0, min(done, rows) - shown))
            shown = max(shown, min(done, rows))

        try:
            report = asyncio.run(
                _in_transaction(
                    lambda s: import_incidents(
                        s,
                        content,
                        fmt=chosen,
                        dataset=dataset,
                        file_name=file.name,
                        actor=f"cli:{actor}",
                        progress=progress,
                    )
                )
            )
        except ImportRejected as exc:
            typer.echo(f"\nrefused: {exc.detail}", err=True)
            for error in exc.extra["errors"][:50]:
                typer.echo(f"  line {error['line']}: {error['field']}: {error['reason']}", err=True)
            if len(exc.extra["errors"]) > 50:
                typer.echo(f"  ... and {len(exc.extra['errors']) - 50} more", err=True)
            raise typer.Exit(1) from exc
    typer.echo(
        f"import {report.id} ({report.dataset}): {report.rows} rows, {report.added} added, "
        f"{report.updated} updated, {report.unchanged} unchanged, {report.deleted} deleted, "
        f"{report.skipped} skipped"
    )
    for kind, names in report.unmapped.items():
        typer.echo(f"unmapped {kind} ({len(names)}), kept as written: {', '.join(names[:20])}")


@chat_cli.command("purge")
def chat_purge() -> None:
    """Delete conversations idle longer than NIGRAN_CHAT_RETENTION_DAYS (0 keeps them all)."""
    from app.chat import service
    from app.core.time import utcnow

    days = get_settings().chat_retention_days
    if days == 0:
        typer.echo("NIGRAN_CHAT_RETENTION_DAYS is 0: conversations are kept forever")
        return
    removed = asyncio.run(_in_transaction(lambda s: service.purge_expired(s, now=utcnow())))
    typer.echo(f"purged {removed} conversation(s) idle for more than {days} days")


@cli.command("export")
def export_dump(
    file: Annotated[
        Path, typer.Argument(dir_okay=False, help="Where to write (gzipped if it ends in .gz).")
    ],
) -> None:
    """Dump every table to FILE (JSON Lines, checksummed); API key secrets are left out."""
    from app.backup.dump import BackupRefused
    from app.backup.service import export_database

    try:
        summary = asyncio.run(export_database(file))
    except (BackupRefused, OSError) as exc:
        typer.echo(f"export failed: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"exported to {file}: {summary}")


@cli.command("restore")
def restore_dump(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A `nigran export`.")],
) -> None:
    """Load FILE into this empty, migrated database: all or nothing, checked before commit."""
    from app.backup.dump import BackupRefused, TargetNotEmpty
    from app.backup.service import restore_database

    try:
        summary = asyncio.run(restore_database(file))
    except (BackupRefused, TargetNotEmpty) as exc:
        typer.echo(f"refused, nothing restored: {exc.detail}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"restored {summary}")
    typer.echo(
        f"search index rebuilt ({summary.search_entries} entries); "
        f"audit chain intact ({summary.audit_entries} entries); "
        "API keys were restored without their secrets: issue new ones with `nigran keys create`"
    )


@cli.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    reload: bool = False,
    workers: int = 1,
) -> None:
    """Serve the API with uvicorn."""
    import uvicorn

    uvicorn.run("app.main:app", host=host, port=port, reload=reload, workers=workers)


def main() -> None:
    cli()
