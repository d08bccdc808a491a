"""Generated ACLED-format exports: the columns of ACLED's CSV, names as ACLED writes them."""

import csv
import io
import random
from collections import Counter
from dataclasses import dataclass, field

ACLED_COLUMNS = [
    "event_id_cnty", "event_date", "year", "time_precision", "disorder_type", "event_type",
    "sub_event_type", "actor1", "assoc_actor_1", "inter1", "actor2", "assoc_actor_2", "inter2",
    "interaction", "civilian_targeting", "iso", "region", "country", "admin1", "admin2", "admin3",
    "location", "latitude", "longitude", "geo_precision", "source", "source_scale", "notes",
    "fatalities", "tags", "timestamp",
]  # fmt: skip
PROVINCES = {
    "Khyber Pakhtunkhwa": ["Peshawar", "Bannu", "North Waziristan", "Dera Ismail Khan"],
    "KPK": ["Lakki Marwat"],
    "Balochistan": ["Quetta", "Kech", "Mastung"],
    "Sindh": ["Karachi"],
    "Punjab": ["Lahore", "Mianwali"],
    "Atlantis Province": ["Nowhere District"],
}
CANONICAL_PROVINCE = {"KPK": "Khyber Pakhtunkhwa"}
ACTORS = [
    ("TTP: Tehreek-i-Taliban Pakistan", "2", "TTP"),
    ("BLA: Balochistan Liberation Army", "2", "BLA"),
    ("Islamic State (Pakistan)", "2", None),
    ("Unidentified Armed Group (Pakistan)", "3", None),
    ("Zorro Liberation Front", "2", None),
]
EVENT_TYPES = [
    ("Explosions/Remote violence", "Remote explosive/landmine/IED"),
    ("Battles", "Armed clash"),
    ("Violence against civilians", "Attack"),
]


@dataclass
class AcledFile:
    rows: list[dict[str, object]]
    killed_by_year: Counter[int] = field(default_factory=Counter)
    killed_by_province: Counter[str] = field(default_factory=Counter)

    def csv(self, rows: list[dict[str, object]] | None = None) -> bytes:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=ACLED_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows if rows is None else rows)
        return buffer.getvalue().encode()


def generate(
    count: int, *, seed: int = 11, years: tuple[int, ...] = (2022, 2023, 2024)
) -> AcledFile:
    rng = random.Random(seed)
    out = AcledFile(rows=[])
    for number in range(count):
        province = rng.choice(list(PROVINCES))
        district = rng.choice(PROVINCES[province])
        actor, inter, _ = rng.choice(ACTORS)
        event_type, sub_event = rng.choice(EVENT_TYPES)
        year = rng.choice(years)
        killed = rng.randint(0, 12)
        out.killed_by_year[year] += killed
        out.killed_by_province[CANONICAL_PROVINCE.get(province, province)] += killed
        out.rows.append(
            {
                "event_id_cnty": f"PAK{100000 + number}",
                "event_date": f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                "year": year,
                "time_precision": rng.choice([1, 1, 1, 2]),
                "disorder_type": "Political violence",
                "event_type": event_type,
                "sub_event_type": sub_event,
                "actor1": actor,
                "assoc_actor_1": "",
                "inter1": inter,
                "actor2": "Police Forces of Pakistan (2018-)"
                if number % 3
                else "Civilians (Pakistan)",
                "assoc_actor_2": "",
                "inter2": 1 if number % 3 else 7,
                "interaction": 12,
                "civilian_targeting": "" if number % 3 else "Civilian targeting",
                "iso": 586,
                "region": "Southern Asia",
                "country": "Pakistan",
                "admin1": province,
                "admin2": district,
                "admin3": "",
                "location": district,
                "latitude": round(rng.uniform(24, 36), 4),
                "longitude": round(rng.uniform(61, 75), 4),
                "geo_precision": 1,
                "source": "Dawn; The News",
                "source_scale": "National",
                "notes": f"Generated event {number}.",
                "fatalities": killed,
                "tags": "",
                "timestamp": 1_700_000_000 + number,
            }
        )
    return out
