"""`python -m app.seed.check`: validate policy_data/ and look for text copied from the report."""

import sys

from app.core.config import get_settings
from app.seed.copying import copied_passages
from app.seed.files import DataSetInvalid, read_dataset


def main(argv: list[str] | None = None) -> int:
    settings = get_settings()
    try:
        data = read_dataset(settings.policy_data_dir)
    except DataSetInvalid as exc:
        print(exc)
        return 1
    print(
        f"valid: {len(data.items)} items, {len(data.statistics)} statistics files "
        f"({sum(len(s.observations) for s in data.statistics)} observations), "
        f"{len(data.groups)} groups, {len(data.regions)} regions, "
        f"{len(data.institutions)} institutions, {len(data.links)} links"
    )
    report = settings.source_report
    if report and report.exists():
        copies = copied_passages(data, report)
        for file, record, passage in copies:
            print(f"copied from the report: {file}: {record}: '{passage}'")
        if copies:
            return 1
    else:
        print(f"(source report not found at {report}; copy check skipped)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
