"""Datasette on Nigran's SQLite file: the outside reference for an uncached item read.

A canned query returns the item's row with its latest five approved status updates, what an
item read costs a general-purpose SQLite-to-JSON server. It is served by the same uvicorn
command line as Nigran (benchmarks.serve.SERVER_FLAGS) rather than by `datasette serve`,
which hard-codes log_level=info and so writes an access-log line per request that the
subject does not pay. Run as `uvicorn --factory benchmarks.datasette_app:create` with
BENCH_DATASETTE_DB (the file) and BENCH_DATASETTE_METADATA (written by write_metadata).
"""

import json
import os
from pathlib import Path
from typing import Any

from datasette.app import Datasette

QUERY = "item_latest"
# Datasette's default, spelled out: the thread pool that runs its SQLite queries.
SETTINGS = {"num_sql_threads": 3}
ITEM_WITH_LATEST_UPDATES = """
select i.*, su.id as update_id, su.status as update_status, su.progress as update_progress,
       su.note as update_note, su.evidence as update_evidence,
       su.effective_date as update_effective_date,
       su.effective_precision as update_effective_precision,
       su.recorded_at as update_recorded_at, su.author as update_author
from policy_item i
left join (
    select * from status_update
    where item_id = (select id from policy_item where slug = :slug)
      and review_state = 'approved'
    order by effective_date desc, id desc
    limit 5
) su on su.item_id = i.id
where i.slug = :slug
order by su.effective_date desc, su.id desc
"""


def write_metadata(db: Path, folder: Path) -> Path:
    """Datasette metadata (JSON) defining the canned query on `db`'s database."""
    metadata = {"databases": {db.stem: {"queries": {QUERY: {"sql": ITEM_WITH_LATEST_UPDATES}}}}}
    path = folder / "datasette-metadata.json"
    path.write_text(json.dumps(metadata, indent=2))
    return path


def path(db_file: str, slug: str) -> str:
    """The canned query's JSON URL path for one item; Datasette names a database after its
    file."""
    return f"/{Path(db_file).stem}/{QUERY}.json?slug={slug}&_shape=array"


def create() -> Any:
    """The ASGI app, as `datasette serve FILE -m METADATA --setting num_sql_threads 3` builds
    it (the file opened mutable, as Nigran opens it)."""
    metadata = json.loads(Path(os.environ["BENCH_DATASETTE_METADATA"]).read_text())
    return Datasette([os.environ["BENCH_DATASETTE_DB"]], metadata=metadata, settings=SETTINGS).app()
