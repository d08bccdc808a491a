"""An independent accuracy check of the statistics against the PIPS 2024 report.

Every figure in EXPECTED was transcribed by hand from the report's plain text
(../shared/seed/000_6f94637c0553d020.txt, "Pakistan's Evolving Militant Landscape"),
without looking at policy_data/. `where` gives the report line the figure was read from.

The tables in that text are flattened: captions usually follow the rows, some tables are split
across page breaks (Tables 1, 5, 6, 11) and Table 9 is badly garbled; the cells below were
re-assembled by reading the rows and checking them against each table's stated totals.

Each entry is queried through GET /api/v1/stats on both database engines and must be found
as the exact value of its metric in at least one returned observation.

Entry keys:
  table / section  where the figure sits (section matches its subsections too)
  dims             dimension filters (canonical names); {} where the data's label for a row
                   (a target or tactic wording) cannot be guessed safely
  metric, value    the metric and its expected number (change_pct negative for a decrease)
  params           extra query parameters: year, from, to, total
  same_row         other metrics the matched observation must carry with these values; used
                   to pin down rows looked up without a dimension filter
  where            the report line
"""

from typing import Any

import pytest
from httpx import AsyncClient

KP = "Khyber Pakhtunkhwa"


def t(
    table: int,
    dims: dict[str, str],
    metric: str,
    value: float,
    where: str,
    *,
    params: dict[str, Any] | None = None,
    same_row: dict[str, float] | None = None,
) -> dict[str, Any]:
    return {
        "table": f"Table {table}",
        "dims": dims,
        "metric": metric,
        "value": value,
        "where": where,
        "params": params or {},
        "same_row": same_row or {},
    }


def s(
    section: str,
    dims: dict[str, str],
    metric: str,
    value: float,
    where: str,
    *,
    params: dict[str, Any] | None = None,
    same_row: dict[str, float] | None = None,
) -> dict[str, Any]:
    return {
        "section": section,
        "dims": dims,
        "metric": metric,
        "value": value,
        "where": where,
        "params": params or {},
        "same_row": same_row or {},
    }


TOTAL = {"total": True}
ROW = {"total": False}
Y2023 = {"year": 2023}
BEFORE = {"to": "2021-07-31"}  # Table 1: Aug. 2019 to Jul. 2021
AFTER = {"from": "2021-08-01"}  # Table 1: Aug. 2021 to Jul. 2023
JAN_2024 = {"from": "2024-01-01", "to": "2024-01-31"}
FEB_2024 = {"from": "2024-02-01", "to": "2024-02-29"}

# Labels as the report prints them (target rows of Tables 3, 7 and 8).
SECURITY = "Security/law enforcement agencies (personnel, convoys, posts)"
POLITICAL = "Political leaders/workers"
WORSHIP = "Worship places/shrines/madrassas"
POLIO = "Health/polio workers, security escorts"
PRO_GOVT = "Pro-govt tribesmen/peace committee members"
SHIA = "Shia religious scholars/community"

# Dimension values in the data's vocabulary, where the report has no canonical name.
PUNJAB_ISB = "Punjab and Islamabad"  # Tables 1 and 6 report Punjab and Islamabad together
RELIGIOUS = {"group_type": "religiously_inspired"}
NATIONALIST = {"group_type": "nationalist_insurgent"}
SECTARIAN = {"group_type": "sectarian"}
TERRORIST = {"incident_type": "terrorist attack"}
POLITICAL_VIOLENCE = {"incident_type": "political violence"}
OPERATION = {"operation_type": "operation"}
CLASH = {"operation_type": "clash"}
ARREST = {"operation_type": "arrest"}

EXPECTED: list[dict[str, Any]] = [
    # ---- Table 1: Terrorist attacks in 2 years since the Taliban takeover (L329-347) ----
    t(1, {"region": KP}, "attacks", 173, "L331", params=BEFORE),
    t(1, {"region": KP}, "killed", 256, "L331", params=BEFORE),
    t(1, {"region": KP}, "attacks", 318, "L331", params=AFTER),
    t(1, {"region": KP}, "killed", 571, "L331", params=AFTER),
    t(1, {"region": KP}, "attacks_change_pct", 84, "L331"),
    t(1, {"region": KP}, "killed_change_pct", 123, "L331"),
    t(1, {"region": "Balochistan"}, "attacks", 105, "L332", params=BEFORE),
    t(1, {"region": "Balochistan"}, "killed", 251, "L332", params=AFTER),
    t(1, {"region": "Balochistan"}, "killed_change_pct", 25, "L332"),
    t(1, {"region": PUNJAB_ISB}, "attacks", 15, "L333", params=BEFORE),
    t(1, {"region": PUNJAB_ISB}, "attacks_change_pct", -20, "L333"),
    t(1, {"region": PUNJAB_ISB}, "killed_change_pct", -31, "L333"),
    t(1, {"region": "Sindh"}, "attacks", 24, "L345", params=BEFORE),
    t(1, {"region": "Sindh"}, "killed", 30, "L345", params=AFTER),
    t(1, {"region": "Sindh"}, "attacks_change_pct", -12, "L345"),
    t(1, {"region": "Sindh"}, "killed_change_pct", 36, "L345"),
    t(1, {}, "attacks", 317, "L347 Total", params={**BEFORE, **TOTAL}),
    t(1, {}, "killed", 504, "L347 Total", params={**BEFORE, **TOTAL}),
    t(1, {}, "attacks", 520, "L347 Total", params={**AFTER, **TOTAL}),
    t(1, {}, "killed", 870, "L347 Total", params={**AFTER, **TOTAL}),
    t(1, {}, "attacks_change_pct", 64, "L347 Total", params=TOTAL),
    t(1, {}, "killed_change_pct", 73, "L347 Total", params=TOTAL),
    # ---- Table 2: Attacks and fatalities, % change on previous year, 2014-23 (L536-549) ----
    t(2, {}, "attacks_change_pct", -30, "L538", params={"year": 2014}),
    t(2, {}, "killed_change_pct", -30, "L538", params={"year": 2014}),
    t(2, {}, "attacks_change_pct", -48, "L539", params={"year": 2015}),
    t(2, {}, "killed_change_pct", -12, "L540", params={"year": 2016}),
    t(2, {}, "killed_change_pct", -40, "L543", params={"year": 2019}),
    t(2, {}, "attacks_change_pct", -36, "L544", params={"year": 2020}),
    t(2, {}, "attacks_change_pct", 42, "L545", params={"year": 2021}),
    t(2, {}, "killed_change_pct", 52, "L545", params={"year": 2021}),
    t(2, {}, "attacks_change_pct", 27, "L546", params={"year": 2022}),
    t(2, {}, "killed_change_pct", 25, "L546", params={"year": 2022}),
    t(2, {}, "attacks_change_pct", 17, "L547", params={"year": 2023}),
    t(2, {}, "killed_change_pct", 65, "L547", params={"year": 2023}),
    # ---- Table 3: Targets hit in terrorist attacks in 2023 (L574-599) ----
    t(3, {"target": SECURITY}, "attacks", 205, "L577"),
    t(3, {"target": SECURITY}, "killed", 434, "L577"),
    t(3, {"target": SECURITY}, "injured", 699, "L577"),
    t(3, {"target": "Civilians"}, "killed", 32, "L585"),
    t(3, {"target": WORSHIP}, "killed", 71, "L587"),
    t(3, {"target": "Sunni religious leaders/community"}, "attacks", 8, "L588", params=ROW),
    t(3, {"target": POLITICAL}, "injured", 149, "L589"),
    t(3, {"target": "Railway tracks / trains"}, "injured", 22, "L595"),
    t(3, {}, "attacks", 306, "L599 Total", params=TOTAL),
    t(3, {}, "killed", 693, "L599 Total", params=TOTAL),
    t(3, {}, "injured", 1124, "L599 Total", params=TOTAL),
    # ---- Table 4: Terrorist attacks in Pakistan in 2023, by region (L607-616) ----
    t(4, {"region": KP}, "attacks", 174, "L608"),
    t(4, {"region": KP}, "killed", 422, "L608"),
    t(4, {"region": KP}, "injured", 782, "L608"),
    t(4, {"region": "Balochistan"}, "attacks", 110, "L609"),
    t(4, {"region": "Balochistan"}, "killed", 229, "L609"),
    t(4, {"region": "Balochistan"}, "injured", 282, "L609"),
    t(4, {"region": "Punjab"}, "killed", 16, "L610"),
    t(4, {"region": "Karachi"}, "attacks", 14, "L611"),
    t(4, {"region": "Karachi"}, "injured", 26, "L611"),
    t(4, {"region": "Sindh"}, "attacks", 1, "L612 Sindh (excluding Karachi)"),
    t(4, {"region": "Gilgit-Baltistan"}, "killed", 10, "L613"),
    t(4, {}, "attacks", 306, "L614 Total", params=TOTAL),
    t(4, {}, "killed", 693, "L614 Total", params=TOTAL),
    t(4, {}, "injured", 1124, "L614 Total", params=TOTAL),
    # ---- Table 5: Key actors of terrorist violence in 2023, attacks by region (L763-788) ----
    # Columns: Balochistan, KP, Punjab/Islamabad, Sindh (excl. Karachi), Karachi, GB, Total.
    t(5, {"group": "TTP", "region": KP}, "attacks", 132, "L764"),
    t(5, {"group": "TTP", "region": "Balochistan"}, "attacks", 15, "L764"),
    t(5, {"group": "TTP", "region": "Punjab"}, "attacks", 3, "L764"),
    t(5, {"group": "TTP"}, "attacks", 151, "L764 Total Attacks", params=TOTAL),
    t(5, {"group": "TJP", "region": KP}, "attacks", 4, "L766"),
    t(5, {"group": "TJP"}, "attacks", 8, "L766 Total Attacks", params=TOTAL),
    t(5, {"group": "Hafiz Gul Bahadur group", "region": KP}, "attacks", 3, "L767"),
    t(5, {"group": "IS-K", "region": KP}, "attacks", 10, "L768"),
    t(5, {"group": "IS-K", "region": "Balochistan"}, "attacks", 7, "L768"),
    t(5, {"group": "IS-K"}, "attacks", 17, "L768 Total Attacks", params=TOTAL),
    t(5, {"group": "BLA", "region": "Balochistan"}, "attacks", 48, "L776"),
    t(5, {"group": "BLA"}, "attacks", 49, "L776 Total Attacks", params=TOTAL),
    t(5, {"group": "BLF", "region": "Karachi"}, "attacks", 2, "L778"),
    t(5, {"group": "BLF"}, "attacks", 16, "L778 Total Attacks", params=TOTAL),
    t(5, {"group": "SRA", "region": "Karachi"}, "attacks", 3, "L783"),
    t(5, {"group": "LeJ", "region": "Balochistan"}, "attacks", 4, "L786"),
    t(5, {"group": "LeJ", "region": "Gilgit-Baltistan"}, "attacks", 1, "L786"),
    t(5, {"group": "LeJ"}, "attacks", 6, "L786 Total Attacks", params=TOTAL),
    t(5, {"region": "Balochistan"}, "attacks", 110, "L788 Total", params=TOTAL),
    t(5, {"region": KP}, "attacks", 174, "L788 Total", params=TOTAL),
    t(5, {"region": "Karachi"}, "attacks", 14, "L788 Total", params=TOTAL),
    t(5, {}, "attacks", 306, "L788 Total", params=TOTAL),
    # ---- Table 6: Attacks by TTP, Jan. 1, 2021 - Apr. 15, 2024, by district (L1242-1287) ----
    t(6, {"district": "Dera Ismail Khan"}, "attacks", 46, "L1248 D.I Khan"),
    t(6, {"district": "Dera Ismail Khan"}, "killed", 65, "L1248 D.I Khan"),
    t(6, {"district": "Dera Ismail Khan"}, "injured", 91, "L1248 D.I Khan"),
    t(6, {"district": "Khyber"}, "attacks", 30, "L1251"),
    t(6, {"district": "Lakki Marwat"}, "killed", 39, "L1255"),
    t(6, {"district": "North Waziristan"}, "attacks", 71, "L1259"),
    t(6, {"district": "North Waziristan"}, "killed", 117, "L1259"),
    t(6, {"district": "North Waziristan"}, "injured", 114, "L1259"),
    t(6, {"district": "Peshawar"}, "killed", 102, "L1262"),
    t(6, {"district": "Peshawar"}, "injured", 236, "L1262"),
    t(6, {"district": "South Waziristan"}, "attacks", 27, "L1264"),
    t(6, {"district": "Tank"}, "injured", 55, "L1267"),
    t(6, {"district": "Rawalpindi"}, "attacks", 3, "L1274"),
    t(6, {"district": "Islamabad"}, "injured", 11, "L1275"),
    t(6, {"district": "Qilla Abdullah"}, "injured", 43, "L1278"),
    t(6, {"district": "Quetta"}, "injured", 90, "L1280"),
    t(6, {"district": "Karachi"}, "injured", 21, "L1285"),
    t(6, {"region": KP}, "attacks", 317, "L1271 KP Total", params=TOTAL),
    t(6, {"region": KP}, "killed", 553, "L1271 KP Total", params=TOTAL),
    t(6, {"region": KP}, "injured", 790, "L1271 KP Total", params=TOTAL),
    # The report states this subtotal (and the 10 attacks of L1240); the data has neither.
    t(6, {"region": PUNJAB_ISB}, "attacks", 10, "L1276 Punjab & Islamabad Total", params=TOTAL),
    t(6, {"region": PUNJAB_ISB}, "killed", 16, "L1276 Punjab & Islamabad Total", params=TOTAL),
    t(6, {"region": PUNJAB_ISB}, "injured", 16, "L1276 Punjab & Islamabad Total", params=TOTAL),
    t(6, {"region": "Balochistan"}, "attacks", 27, "L1284 Balochistan Total", params=TOTAL),
    t(6, {"region": "Balochistan"}, "killed", 59, "L1284 Balochistan Total", params=TOTAL),
    t(6, {"region": "Balochistan"}, "injured", 135, "L1284 Balochistan Total", params=TOTAL),
    t(6, {"region": "Sindh"}, "injured", 21, "L1286 Sindh Total", params=TOTAL),
    t(6, {}, "attacks", 357, "L1287 Total Pakistan", params=TOTAL),
    t(6, {}, "killed", 635, "L1287 Total Pakistan", params=TOTAL),
    t(6, {}, "injured", 962, "L1287 Total Pakistan", params=TOTAL),
    # ---- Table 7: Targets hit in TTP attacks, Jan. 2021 - Apr. 15, 2024 (L1293-1309) ----
    t(7, {"target": SECURITY}, "attacks", 305, "L1296"),
    t(7, {"target": SECURITY}, "killed", 557, "L1296"),
    t(7, {"target": SECURITY}, "injured", 870, "L1296"),
    t(7, {"target": POLIO}, "attacks", 16, "L1304"),
    t(7, {"target": PRO_GOVT}, "attacks", 10, "L1305"),
    t(7, {"target": "CPEC/workers/Chinese"}, "injured", 28, "L1306"),
    t(7, {}, "attacks", 357, "L1309 Total", params=TOTAL),
    t(7, {}, "killed", 635, "L1309 Total", params=TOTAL),
    t(7, {}, "injured", 962, "L1309 Total", params=TOTAL),
    # ---- Table 8: Targets hit by IS-K, Aug. 2021 - Mar. 10, 2024 (L1683-1700) ----
    t(8, {"target": SECURITY}, "attacks", 18, "L1684"),
    t(8, {"target": SHIA}, "injured", 186, "L1687"),
    t(8, {"target": WORSHIP}, "killed", 64, "L1688"),
    t(8, {"target": POLITICAL}, "attacks", 14, "L1691"),
    t(8, {"target": POLITICAL}, "killed", 112, "L1691"),
    t(8, {"target": POLITICAL}, "injured", 215, "L1691"),
    t(8, {"target": "Sikh community"}, "attacks", 4, "L1694"),
    t(8, {}, "attacks", 53, "L1698 Total", params=TOTAL),
    t(8, {}, "killed", 294, "L1698 Total", params=TOTAL),
    t(8, {}, "injured", 515, "L1698 Total", params=TOTAL),
    # ---- Table 9: IS-K attacks by district, Aug. 2021 - Mar. 10, 2024 (garbled, L1765-1790) ----
    t(9, {"district": "Bajaur"}, "attacks", 20, "L1768"),
    t(9, {"district": "Bajaur"}, "killed", 85, "L1768"),
    t(9, {"district": "Bajaur"}, "injured", 149, "L1768"),
    t(9, {"district": "Peshawar"}, "attacks", 14, "L1774"),
    t(9, {"district": "Peshawar"}, "injured", 192, "L1774"),
    t(9, {"district": "South Waziristan"}, "attacks", 2, "L1777"),
    t(9, {"district": "Bolan"}, "killed", 11, "L1785"),
    t(9, {"district": "Mastung"}, "attacks", 6, "L1787"),
    t(9, {"district": "Mastung"}, "killed", 67, "L1787"),
    t(9, {"district": "Mastung"}, "injured", 83, "L1787"),
    t(9, {"district": "Pishin"}, "killed", 20, "L1789"),
    t(9, {"district": "Qilla Saifullah"}, "injured", 25, "L1790"),
    t(9, {"district": "Sibi"}, "killed", 10, "L1790"),
    t(9, {"region": KP}, "attacks", 39, "L1780 KP Total", params=TOTAL),
    t(9, {"region": KP}, "killed", 170, "L1780 KP Total", params=TOTAL),
    t(9, {"region": KP}, "injured", 341, "L1780 KP Total", params=TOTAL),
    t(9, {"region": "Balochistan"}, "attacks", 14, "L1787 Balochistan Total", params=TOTAL),
    t(9, {"region": "Balochistan"}, "killed", 124, "L1787 Balochistan Total", params=TOTAL),
    t(9, {"region": "Balochistan"}, "injured", 174, "L1787 Balochistan Total", params=TOTAL),
    t(9, {}, "attacks", 53, "L1777 Total", params=TOTAL),
    t(9, {}, "killed", 294, "L1777 Total", params=TOTAL),
    t(9, {}, "injured", 515, "L1777 Total", params=TOTAL),
    # ---- Table 10: Terrorist attacks on election-related targets, Jan-Mar 2024 (L2025-2056) ----
    t(10, {"district": "Bajaur"}, "injured", 4, "L2028"),
    t(10, {"district": "Kech"}, "attacks", 10, "L2033"),
    t(10, {"district": "Kharan"}, "attacks", 5, "L2035"),
    t(10, {"district": "Panjgur"}, "attacks", 9, "L2043"),
    t(10, {"district": "Pishin"}, "killed", 20, "L2044"),
    t(10, {"district": "Pishin"}, "injured", 29, "L2044"),
    t(10, {"district": "Qilla Saifullah"}, "killed", 13, "L2047"),
    t(10, {"district": "Quetta"}, "injured", 8, "L2049"),
    t(10, {"district": "South Waziristan"}, "injured", 8, "L2053"),
    t(10, {}, "attacks", 55, "L2056 Total", params=TOTAL),
    t(10, {}, "killed", 48, "L2056 Total", params=TOTAL),
    t(10, {}, "injured", 112, "L2056 Total", params=TOTAL),
    # ---- Table 11: Incidents of political violence, Jan-Mar 2024 (L2109-2145) ----
    t(11, {"district": "Dera Ismail Khan"}, "killed", 3, "L2112 D.I Khan"),
    t(11, {"district": "Karachi"}, "incidents", 4, "L2115"),
    t(11, {"district": "Karachi"}, "injured", 6, "L2115"),
    t(11, {"district": "Lahore"}, "incidents", 2, "L2117"),
    t(11, {"district": "Larkana"}, "killed", 6, "L2118"),
    t(11, {"district": "Rahim Yar Khan"}, "injured", 5, "L2142"),
    t(11, {"district": "Ziarat"}, "killed", 1, "L2144"),
    t(11, {}, "incidents", 18, "L2145 Total", params=TOTAL),
    t(11, {}, "killed", 14, "L2145 Total", params=TOTAL),
    t(11, {}, "injured", 43, "L2145 Total", params=TOTAL),
    # ---- Table 12: Anti-militant operations in 2023 (L2513-2551) ----
    t(12, {"district": "Awaran"}, "injured", 2, "L2514"),
    t(12, {"district": "Kech"}, "operations", 7, "L2519"),
    t(12, {"district": "Kech"}, "killed", 29, "L2519"),
    t(12, {"district": "Quetta"}, "killed", 19, "L2523"),
    t(12, {"district": "Chitral"}, "injured", 10, "L2530"),
    t(12, {"district": "Dera Ismail Khan"}, "operations", 17, "L2531 D.I Khan"),
    t(12, {"district": "Dera Ismail Khan"}, "killed", 44, "L2531 D.I Khan"),
    t(12, {"district": "North Waziristan"}, "operations", 21, "L2536"),
    t(12, {"district": "North Waziristan"}, "killed", 67, "L2536"),
    t(12, {"district": "North Waziristan"}, "injured", 14, "L2536"),
    t(12, {"district": "South Waziristan"}, "killed", 61, "L2538"),
    t(12, {"district": "Tank"}, "killed", 36, "L2541"),
    t(12, {"region": "Balochistan"}, "operations", 28, "L2527 Total", params=TOTAL),
    t(12, {"region": "Balochistan"}, "killed", 104, "L2527 Total", params=TOTAL),
    t(12, {"region": KP}, "operations", 97, "L2542 KP Total", params=TOTAL),
    t(12, {"region": KP}, "killed", 314, "L2542 KP Total", params=TOTAL),
    t(12, {"region": KP}, "injured", 47, "L2542 KP Total", params=TOTAL),
    t(12, {"region": "Punjab"}, "killed", 5, "L2546 Punjab Total", params=TOTAL),
    t(12, {"region": "Sindh"}, "operations", 1, "L2548 Sindh Total", params=TOTAL),
    t(12, {}, "operations", 129, "L2549 Total Pakistan", params=TOTAL),
    t(12, {}, "killed", 425, "L2549 Total Pakistan (425, fn 308)", params=TOTAL),
    t(12, {}, "injured", 51, "L2549 Total Pakistan (51, fn 309)", params=TOTAL),
    # ---- Table 13: Clashes between security forces and militants in 2023 (L2563-2582) ----
    t(13, {"district": "Lakki Marwat"}, "injured", 1, "L2570"),
    t(13, {"district": "North Waziristan"}, "clashes", 5, "L2572"),
    t(13, {"district": "North Waziristan"}, "killed", 12, "L2572"),
    t(13, {"district": "South Waziristan"}, "killed", 13, "L2573"),
    t(13, {"district": "Dera Ghazi Khan"}, "killed", 2, "L2575"),
    t(13, {"region": KP}, "clashes", 21, "L2574 KP Total", params=TOTAL),
    t(13, {"region": KP}, "killed", 52, "L2574 KP Total", params=TOTAL),
    t(13, {"region": "Punjab"}, "clashes", 2, "L2577 Punjab Total", params=TOTAL),
    t(13, {}, "clashes", 24, "L2580 Total Pakistan", params=TOTAL),
    t(13, {}, "killed", 55, "L2580 Total Pakistan (55, fn 310)", params=TOTAL),
    t(13, {}, "injured", 3, "L2580 Total Pakistan (3, fn 311)", params=TOTAL),
    # ---- Table 14: Suspected terrorists arrested in 2023 (L2598-2613) ----
    # The "Operations" column is stored as search_operations (search and combing operations).
    t(14, {"group_type": "multiple"}, "arrests", 212, "L2599 Banned militant outfits"),
    t(14, {"group": "BLF"}, "arrests", 5, "L2602"),
    t(14, {"group": "Hafiz Gul Bahadur group"}, "arrests", 7, "L2604"),
    t(14, {"group": "IS-K"}, "search_operations", 7, "L2605 ISIS"),
    t(14, {"group": "IS-K"}, "arrests", 15, "L2605 ISIS"),
    t(14, {"group": "LeJ"}, "search_operations", 5, "L2606"),
    t(14, {"group": "LeJ"}, "arrests", 9, "L2606"),
    t(14, {"group": "TTP"}, "search_operations", 38, "L2607 Local Taliban / TTP"),
    t(14, {"group": "TTP"}, "arrests", 113, "L2607 Local Taliban / TTP"),
    t(14, {}, "search_operations", 87, "L2611 Total", params=TOTAL),
    t(14, {}, "arrests", 377, "L2611 Total", params=TOTAL),
    # ---- Table 15: Failed/foiled terror bids in 2023 (L2619-2628) ----
    t(15, {"district": "Khyber"}, "foiled_plots", 2, "L2622"),
    t(15, {"district": "Khyber"}, "killed", 1, "L2622"),
    t(15, {"district": "Khyber"}, "injured", 2, "L2622"),
    t(15, {"district": "Quetta"}, "killed", 1, "L2625"),
    t(15, {}, "foiled_plots", 7, "L2626 Total", params=TOTAL),
    t(15, {}, "killed", 2, "L2626 Total", params=TOTAL),
    t(15, {}, "injured", 2, "L2626 Total", params=TOTAL),
    # ---- Section 3.1: Terrorist violence in Pakistan in 2023 (L553-603) ----
    s("3.1", {}, "attacks", 306, "L555", params={**Y2023, **TOTAL}),
    s("3.1", {}, "suicide_attacks", 23, "L555", params=Y2023),
    s("3.1", {}, "killed", 693, "L555", params={**Y2023, **TOTAL}),
    s("3.1", {}, "injured", 1124, "L555", params={**Y2023, **TOTAL}),
    s("3.1", {}, "attacks_change_pct", 17, "L553/L555", params=Y2023),
    s("3.1", {}, "killed_change_pct", 65, "L555", params=Y2023),
    # No API filter for the victim dimension: these rows are pinned by their metric pair.
    s("3.1", {}, "killed", 330, "L557 security personnel", params=Y2023, same_row={"injured": 518}),
    s("3.1", {}, "killed", 260, "L557 civilians", params=Y2023, same_row={"injured": 559}),
    s("3.1", {}, "killed", 103, "L557 militants", params=Y2023, same_row={"injured": 47}),
    s("3.1", {"force": "Pakistan Army"}, "killed", 110, "L557 army officials", params=Y2023),
    s("3.1", {"force": "Police"}, "killed", 176, "L557 policemen", params=Y2023),
    s("3.1", {"force": "Frontier Corps"}, "killed", 26, "L557 FC men", params=Y2023),
    s("3.1", {"force": "Levies"}, "killed", 11, "L557", params=Y2023),
    s("3.1", {"force": "Rangers"}, "killed", 2, "L557", params=Y2023),
    s("3.1", RELIGIOUS, "attacks", 208, "L565", params=Y2023),
    s("3.1", RELIGIOUS, "killed", 579, "L565", params=Y2023),
    s("3.1", RELIGIOUS, "injured", 938, "L565", params=Y2023),
    s("3.1", NATIONALIST, "attacks", 86, "L565", params=Y2023),
    s("3.1", NATIONALIST, "killed", 90, "L565", params=Y2023),
    s("3.1", NATIONALIST, "injured", 151, "L565", params=Y2023),
    s("3.1", SECTARIAN, "attacks", 12, "L565", params={**Y2023, **TOTAL}),
    s("3.1", SECTARIAN, "killed", 24, "L565", params={**Y2023, **TOTAL}),
    s("3.1", SECTARIAN, "injured", 35, "L565", params={**Y2023, **TOTAL}),
    s("3.1", {"target": SECURITY}, "attacks", 205, "L572", params=Y2023),
    s("3.1", {"target": POLIO}, "attacks", 10, "L572", params=Y2023),
    s("3.1", {"tactic": "direct fire"}, "attacks", 160, "L603", params=Y2023),
    s("3.1", {"tactic": "IED"}, "attacks", 65, "L603", params=Y2023),
    s("3.1", {"tactic": "hand grenade"}, "attacks", 38, "L603", params=Y2023),
    # ---- Section 3.2: Critical terrorist threats and actors (L620-666) ----
    s("3.2", {"group": "TTP"}, "attacks", 151, "L628", params=Y2023),
    s("3.2", {"group": "TTP"}, "killed", 281, "L628", params=Y2023),
    s("3.2", {"group": "TTP"}, "injured", 555, "L628", params=Y2023),
    s("3.2", {"group": "TTP"}, "killed", 135, "L628 (2022)", params={"year": 2022}),
    s("3.2", {"group": "TTP", "tactic": "suicide attack"}, "suicide_attacks", 11, "L630"),
    s("3.2", {"group": "TTP", "region": KP}, "attacks", 132, "L632", params=Y2023),
    s("3.2", {"group": "TTP", "region": "Balochistan"}, "attacks", 15, "L632", params=Y2023),
    s("3.2", {"group": "IS-K"}, "attacks", 17, "L644", params=Y2023),
    s("3.2", {"group": "IS-K"}, "killed", 155, "L644", params=Y2023),
    s("3.2", {"group": "IS-K"}, "injured", 222, "L644", params=Y2023),
    s("3.2", {"group": "IS-K"}, "attacks", 23, "L644 (2022)", params={"year": 2022}),
    s("3.2", {"group": "IS-K"}, "attacks", 8, "L644 (2021)", params={"year": 2021}),
    s("3.2", {"group": "IS-K", "region": KP}, "attacks", 10, "L644", params=Y2023),
    s("3.2", {"group": "BLA"}, "attacks", 49, "L658", params=Y2023),
    s("3.2", {"group": "BLA"}, "killed", 48, "L658", params=Y2023),
    s("3.2", {"group": "BLA"}, "injured", 86, "L658", params=Y2023),
    s("3.2", {"group": "BLA"}, "attacks", 46, "L658 (2022)", params={"year": 2022}),
    s("3.2", {"group": "BLA", "district": "Quetta"}, "attacks", 11, "L660", params=Y2023),
    s("3.2", {"incident_type": "sectarian violence"}, "incidents", 16, "L662", params=Y2023),
    s("3.2", {"incident_type": "sectarian violence"}, "killed", 43, "L662", params=Y2023),
    s("3.2", {"incident_type": "sectarian violence"}, "injured", 61, "L662", params=Y2023),
    s("3.2", {"group": "LeJ"}, "attacks", 6, "L664", params=Y2023),
    s("3.2", {"group": "LeJ"}, "killed", 16, "L664", params=Y2023),
    s("3.2", {"group": "LeJ"}, "injured", 27, "L664", params=Y2023),
    s("3.2", {"incident_type": "faith-based violence"}, "incidents", 10, "L668", params=Y2023),
    # ---- Section 3.3: Geographical spread of terrorist violence in 2023 (L680-707) ----
    s("3.3", {"region": KP}, "attacks", 174, "L680", params=Y2023),
    s("3.3", {"region": KP}, "killed", 422, "L686", params=Y2023),
    s("3.3", {"region": KP}, "injured", 782, "L686", params=Y2023),
    s("3.3", {"district": "Bajaur"}, "attacks", 10, "L690", params=Y2023),
    s("3.3", {"region": "Balochistan"}, "attacks", 110, "L694", params=Y2023),
    s("3.3", {"region": "Balochistan"}, "attacks", 79, "L694 (2022)", params={"year": 2022}),
    s("3.3", {"region": "Balochistan"}, "killed", 229, "L694", params=Y2023),
    s("3.3", {"region": "Balochistan"}, "killed", 106, "L694 (2022)", params={"year": 2022}),
    s("3.3", {"region": "Balochistan"}, "injured", 282, "L694", params=Y2023),
    s("3.3", {"region": "Balochistan", **NATIONALIST}, "attacks", 78, "L694", params=Y2023),
    s("3.3", {"region": "Balochistan", **NATIONALIST}, "killed", 86, "L694", params=Y2023),
    s("3.3", {"region": "Balochistan", **NATIONALIST}, "injured", 137, "L694", params=Y2023),
    s("3.3", {"region": "Balochistan", **RELIGIOUS}, "attacks", 29, "L696", params=Y2023),
    s("3.3", {"region": "Balochistan", **RELIGIOUS}, "killed", 139, "L696", params=Y2023),
    s("3.3", {"region": "Balochistan", **RELIGIOUS}, "injured", 144, "L696", params=Y2023),
    s("3.3", {"region": "Sindh"}, "attacks", 15, "L699", params=Y2023),
    s("3.3", {"region": "Karachi"}, "attacks", 14, "L699", params=Y2023),
    s("3.3", {"region": "Karachi", **SECTARIAN}, "attacks", 7, "L699-702", params=Y2023),
    s("3.3", {"region": "Punjab"}, "attacks", 6, "L705", params=Y2023),
    s("3.3", {"region": "Punjab"}, "attacks", 3, "L705 (2022)", params={"year": 2022}),
    s("3.3", {"region": "Punjab"}, "killed", 16, "L705", params=Y2023),
    s("3.3", {"region": "Gilgit-Baltistan"}, "killed", 10, "L707", params=Y2023),
    s("3.3", {"region": "Gilgit-Baltistan"}, "injured", 26, "L707", params=Y2023),
    # ---- Section 4.2: Extended profiles of the TTP and IS-K (L1238-1311, L1681) ----
    s("4.2", {"group": "TTP"}, "attacks", 357, "L1238", params=TOTAL),
    s("4.2", {"group": "TTP"}, "killed", 635, "L1238", params=TOTAL),
    s("4.2", {"group": "TTP"}, "killed", 437, "L1238 security personnel", params=ROW),
    s("4.2", {"group": "TTP"}, "killed", 96, "L1238 civilians", params=ROW),
    s("4.2", {"group": "TTP"}, "killed", 102, "L1238 militants", params=ROW),
    s("4.2", {"group": "TTP", "region": KP}, "attacks", 317, "L1240"),
    s("4.2", {"group": "TTP", "region": "Balochistan"}, "attacks", 27, "L1240"),
    s("4.2", {"group": "TTP", "region": PUNJAB_ISB}, "attacks", 10, "L1240"),
    s("4.2", {"group": "TTP", "region": "Karachi"}, "attacks", 3, "L1240"),
    s("4.2", {"group": "TTP", "tactic": "firing"}, "attacks", 231, "L1311"),
    s("4.2", {"group": "TTP", "tactic": "suicide attack"}, "attacks", 21, "L1311"),
    s("4.2", {"group": "TTP", "tactic": "IED"}, "attacks", 60, "L1311"),
    s("4.2", {"group": "IS-K"}, "attacks", 53, "L1681", params=TOTAL),
    s("4.2", {"group": "IS-K"}, "killed", 294, "L1681", params=TOTAL),
    s("4.2", {"group": "IS-K"}, "injured", 515, "L1681", params=TOTAL),
    # ---- Section 5: Elections 2024 (L1925-1955) ----
    s("5", {"election": "2013", **TERRORIST}, "attacks", 148, "L1925"),
    s("5", {"election": "2013", **POLITICAL_VIOLENCE}, "incidents", 80, "L1925"),
    s("5", {"election": "2013"}, "incidents", 228, "L1925", params=TOTAL),
    s("5", {"election": "2013"}, "killed", 280, "L1925", params=TOTAL),
    s("5", {"election": "2013"}, "injured", 837, "L1925", params=TOTAL),
    s("5", {"election": "2018", **TERRORIST}, "attacks", 19, "L1926"),
    s("5", {"election": "2018", **POLITICAL_VIOLENCE}, "incidents", 13, "L1926"),
    s("5", {"election": "2018"}, "incidents", 32, "L1926", params=TOTAL),
    s("5", {"election": "2018"}, "killed", 218, "L1926", params=TOTAL),
    s("5", {"election": "2018"}, "injured", 430, "L1926", params=TOTAL),
    s("5", {"election": "2013", **NATIONALIST}, "attacks", 52, "L1953"),
    s("5", {"election": "2018", **NATIONALIST}, "attacks", 7, "L1953"),
    s("5", {"election": "2013", "region": "Karachi"}, "incidents", 51, "L1955"),
    # 2024 totals are stated both in section 5 (L1927) and in 5.2.1 (L2010).
    s("5", {"election": "2024"}, "incidents", 73, "L1927/L2010", params=TOTAL),
    s("5", {"election": "2024"}, "killed", 62, "L1927/L2010", params=TOTAL),
    s("5", {"election": "2024"}, "injured", 155, "L1927/L2010", params=TOTAL),
    # ---- Section 5.2.1: Data on 2024 election-related violence (L2010-2107) ----
    s("5.2.1", {"election": "2024", **TERRORIST}, "attacks", 55, "L2010"),
    s("5.2.1", {"election": "2024", **POLITICAL_VIOLENCE}, "incidents", 18, "L2010/L2107"),
    s("5.2.1", {"election": "2024", **NATIONALIST}, "attacks", 40, "L2019 Baloch groups"),
    s("5.2.1", {"election": "2024", **RELIGIOUS}, "attacks", 15, "L2019"),
    s("5.2.1", {"election": "2024", **TERRORIST}, "attacks", 19, "L2060 January", params=JAN_2024),
    s("5.2.1", {"election": "2024", **TERRORIST}, "killed", 11, "L2060 January", params=JAN_2024),
    s("5.2.1", {"election": "2024", **TERRORIST}, "injured", 26, "L2060 January", params=JAN_2024),
    s("5.2.1", {"region": "Balochistan"}, "attacks", 12, "L2072 January", params=JAN_2024),
    s("5.2.1", {"election": "2024", **TERRORIST}, "attacks", 36, "L2074 February", params=FEB_2024),
    s("5.2.1", {"election": "2024", **TERRORIST}, "killed", 37, "L2074 February", params=FEB_2024),
    s("5.2.1", {"election": "2024", **TERRORIST}, "injured", 86, "L2074 February", params=FEB_2024),
    s("5.2.1", {"region": "Balochistan"}, "attacks", 34, "L2078 February", params=FEB_2024),
    s("5.2.1", {"region": "Balochistan", "group": "IS-K"}, "killed", 33, "L2078", params=FEB_2024),
    s("5.2.1", {"region": "Balochistan", "group": "IS-K"}, "injured", 54, "L2078", params=FEB_2024),
    # ---- Section 6.2.1: Data on kinetic actions in 2023 (L2487-2594) ----
    s("6.2.1", OPERATION, "operations", 129, "L2487", params=Y2023),
    s("6.2.1", OPERATION, "operations", 87, "L2487 (2022)", params={"year": 2022}),
    s("6.2.1", OPERATION, "killed", 425, "L2487", params=Y2023),
    s("6.2.1", OPERATION, "killed", 327, "L2499 (2022)", params={"year": 2022}),
    s("6.2.1", OPERATION, "injured", 51, "L2499", params=Y2023),
    # The militants among the dead carry no filterable dimension (victim): pinned by value.
    s("6.2.1", OPERATION, "killed", 373, "L2487 militants", params=Y2023),
    s("6.2.1", {"force": "Pakistan Army", **OPERATION}, "killed", 43, "L2487", params=Y2023),
    s("6.2.1", {"region": KP, **OPERATION}, "operations", 97, "L2487", params=Y2023),
    s("6.2.1", {"region": "Balochistan", **OPERATION}, "operations", 28, "L2487", params=Y2023),
    s("6.2.1", {"region": "Punjab", **OPERATION}, "operations", 3, "L2487", params=Y2023),
    s("6.2.1", {"district": "North Waziristan", **OPERATION}, "operations", 21, "L2511"),
    s("6.2.1", {"district": "Dera Ismail Khan", **OPERATION}, "operations", 17, "L2511"),
    s("6.2.1", CLASH, "clashes", 24, "L2489", params=Y2023),
    s("6.2.1", CLASH, "clashes", 11, "L2489 (2022)", params={"year": 2022}),
    s("6.2.1", CLASH, "killed", 55, "L2489", params=Y2023),
    s("6.2.1", CLASH, "killed", 37, "L2489 militants", params=Y2023, same_row={"injured": 2}),
    s("6.2.1", {"region": KP, **CLASH}, "clashes", 21, "L2561", params=Y2023),
    s("6.2.1", ARREST, "arrests", 377, "L2491", params=Y2023),
    s("6.2.1", ARREST, "search_operations", 87, "L2491", params=Y2023),
    s("6.2.1", {"region": "Punjab", **ARREST}, "arrests", 247, "L2588", params=Y2023),
    s("6.2.1", {"group": "TTP", **ARREST}, "arrests", 113, "L2594", params=Y2023),
    s("6.2.1", {"group": "IS-K", **ARREST}, "arrests", 15, "L2594", params=Y2023),
    s("6.2.1", {"group": "LeJ", **ARREST}, "arrests", 9, "L2594", params=Y2023),
    s("6.2.1", {"operation_type": "foiled plot"}, "foiled_plots", 7, "L2493", params=Y2023),
]


# The report's own tables that do not add up to their stated totals, skipped by the sum check
# only when the data reproduces exactly the report's figures:
# (table, metric) -> (what the report's rows sum to, the stated total, reason).
KNOWN_REPORT_DISCREPANCIES: dict[tuple[str, str], tuple[float, float, str]] = {
    ("Table 3", "attacks"): (
        305,
        306,
        "Report L577-598: the 21 target rows of the attack column sum to 305 against the "
        "stated Total of 306 (L599). The running text (L572) counts nine attacks on Sunni "
        "religious leaders where the table row (L588) prints 8. Killed (693) and injured "
        "(1,124) do add up.",
    ),
}

# Percentages do not add up across rows; the sum check covers counts only.
NON_ADDITIVE_SUFFIXES = ("_pct",)


def _entry_id(entry: dict[str, Any]) -> str:
    source = entry.get("table") or f"s{entry['section']}"
    dims = ",".join(f"{k}={v}" for k, v in entry["dims"].items())
    params = ",".join(f"{k}={v}" for k, v in entry["params"].items())
    parts = [source, dims, params, f"{entry['metric']}={entry['value']}", entry["where"]]
    return "|".join(p for p in parts if p).replace(" ", "_")


async def _all_observations(client: AsyncClient, **params: Any) -> list[dict]:
    rows: list[dict] = []
    cursor = None
    while True:
        query = {"limit": 500, **params, **({"cursor": cursor} if cursor else {})}
        response = await client.get("/api/v1/stats", params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        rows.extend(page["observations"])
        cursor = page["next_cursor"]
        if not cursor:
            return rows


def _same(a: Any, b: Any) -> bool:
    try:
        return float(a) == float(b)
    except (TypeError, ValueError):
        return False


@pytest.mark.parametrize("entry", EXPECTED, ids=[_entry_id(e) for e in EXPECTED])
async def test_report_figure_is_in_the_data(client: AsyncClient, entry: dict[str, Any]) -> None:
    source = {"table": entry["table"]} if "table" in entry else {"section": entry["section"]}
    params = {**source, **entry["dims"], **entry["params"], "metric": entry["metric"]}
    params = {k: str(v).lower() if isinstance(v, bool) else v for k, v in params.items()}
    rows = await _all_observations(client, **params)
    matches = [
        r
        for r in rows
        if _same(r["metrics"].get(entry["metric"]), entry["value"])
        and all(_same(r["metrics"].get(m), v) for m, v in entry["same_row"].items())
    ]
    found = sorted({r["metrics"][entry["metric"]] for r in rows}, key=str)
    assert matches, (
        f"report {entry['where']}: expected {entry['metric']}={entry['value']}"
        f"{' with ' + str(entry['same_row']) if entry['same_row'] else ''} for {params}; "
        f"the data has {found or 'no observations'}"
    )


def _key(obs: dict) -> tuple:
    return (obs["period"]["start"], obs["period"]["end"])


async def test_every_stated_total_adds_up(client: AsyncClient) -> None:
    failures: list[str] = []
    seen_known: set[tuple[str, str]] = set()
    checked = 0
    for n in range(1, 16):
        table = f"Table {n}"
        rows = await _all_observations(client, table=table)
        assert rows, f"{table} has no observations"
        parts = [r for r in rows if not r["total"]]
        for total in (r for r in rows if r["total"]):
            dims = total["dimensions"]
            children = [
                p
                for p in parts
                if _key(p) == _key(total)
                and len(p["dimensions"]) == len(dims) + 1
                and all(p["dimensions"].get(k) == v for k, v in dims.items())
            ]
            if not children:
                continue
            for metric, stated in total["metrics"].items():
                if metric.endswith(NON_ADDITIVE_SUFFIXES):
                    continue
                summed = sum(float(c["metrics"].get(metric, 0)) for c in children)
                checked += 1
                if summed == float(stated):
                    continue
                known = KNOWN_REPORT_DISCREPANCIES.get((table, metric))
                if known and (summed, float(stated)) == (float(known[0]), float(known[1])):
                    seen_known.add((table, metric))
                    continue
                label = f"{table} {dims or 'grand total'} {_key(total)} {metric}"
                failures.append(
                    f"{label}: {len(children)} rows sum to {summed:g}, total says {stated}"
                )
    assert checked, "no stated total could be checked"
    assert not failures, "\n".join(failures)
    # A report discrepancy that no longer shows means the data no longer follows the report.
    assert seen_known == set(KNOWN_REPORT_DISCREPANCIES), (
        f"report discrepancies not reproduced by the data: "
        f"{sorted(set(KNOWN_REPORT_DISCREPANCIES) - seen_known)}"
    )
