"""The offline chat engine over the real data set, on both engines: every kind of question."""

import re
from typing import Any

import pytest

from app.chat import engine
from app.chat.engine import Answer
from tests.conftest import Database


async def ask(db: Database, message: str, context: dict[str, Any] | None = None) -> Answer:
    async with db.session() as session:
        return await engine.answer(session, message, context or {})


def has(answer: Answer, *needles: str) -> bool:
    text = answer.text.lower().replace(",", "")
    return all(n.lower() in text for n in needles)


def cites(answer: Answer, kind: str, ident: str | None = None) -> bool:
    return any(c.type == kind and (ident is None or c.id == ident) for c in answer.citations)


@pytest.mark.parametrize(
    ("question", "expected", "citation"),
    [
        ("How many attacks were there in Khyber Pakhtunkhwa in 2023?", "174", "stat"),
        ("How many people were killed in Balochistan in 2023?", "229", "stat"),
        ("How many TTP attacks took place in Balochistan in 2023?", "15", "stat"),
        ("How many army personnel were killed in terrorist attacks in 2023?", "110", "stat"),
        ("How many people died in ISKP attacks in Peshawar since August 2021?", "77", "stat"),
        ("how many TTP attacks in DI Khan from 2021 to april 2024", "46", "stat"),
        ("How many people were injured in 2023?", "1124", "stat"),
        ("How many attacks were there in Pakistan in 2015?", "625", "stat"),
    ],
)
async def test_counts_come_from_the_statistics(
    seeded_db: Database, question: str, expected: str, citation: str
) -> None:
    answer = await ask(seeded_db, question)
    assert answer.found and has(answer, expected), answer.text
    assert cites(answer, citation) and answer.as_of is not None
    assert len(answer.text) < 1500


async def test_changes_shares_and_superlatives(seeded_db: Database) -> None:
    rise = await ask(seeded_db, "By how much did terrorism-related deaths rise in 2023 over 2022?")
    assert has(rise, "65%"), rise.text
    most = await ask(seeded_db, "Which district saw the most kinetic operations in 2023?")
    assert has(most, "North Waziristan", "21"), most.text
    region = await ask(seeded_db, "Which region had the most attacks in 2023?")
    assert has(region, "Khyber Pakhtunkhwa", "174"), region.text
    previous = await ask(
        seeded_db,
        "How many attacks did Baloch and Sindhi nationalist insurgents carry out in 2023?",
    )
    assert has(previous, "86", "up from 79"), previous.text


async def test_status_says_as_of_when_and_cites_the_item(seeded_db: Database) -> None:
    answer = await ask(seeded_db, "What is the status of madrassa registration?")
    assert answer.found and cites(answer, "item")
    assert re.search(
        r"partially implemented|in progress|not started|stalled|implemented", answer.text
    )
    assert answer.as_of is not None and "as of" in answer.text


async def test_who_when_laws_institutions_and_recommendations(seeded_db: Database) -> None:
    cases = [
        ("Who announced Pakistan's first National Security Policy?", ["Moeed Yusuf"]),
        (
            "What new offence did the Anti-Terrorism (Amendment) Act 2020 create?",
            ["Security Council"],
        ),
        ("When did Sindh introduce its madrassa registration bill?", ["2016"]),
        ("When did the military courts lapse?", ["2019"]),
        ("When was the TTP formed?", ["2007"]),
        ("What are the Provincial Coordination Committees and which body runs them?", ["NACTA"]),
        (
            "What does the report recommend for young people in its section on the TTP and IS-K threat?",
            ["employment"],
        ),
    ]
    for question, needles in cases:
        answer = await ask(seeded_db, question)
        assert answer.found and answer.citations, (question, answer.text)
        assert has(answer, *needles), (question, answer.text)


async def test_progress_summaries_lists_and_counts_of_items(seeded_db: Database) -> None:
    summary = await ask(seeded_db, "How much of the NAP is implemented?")
    assert has(summary, "20 points") and summary.as_of is not None, summary.text
    points = await ask(seeded_db, "How many points does the National Action Plan have?")
    assert has(points, "20 points"), points.text
    section = await ask(
        seeded_db,
        "How many recommendation points are listed under 'soft approaches to counter violent extremism'?",
    )
    assert has(section, "15"), section.text
    listed = await ask(seeded_db, "Which NAP points are partially implemented?")
    assert listed.found and re.match(r"\d+ NAP points are partially implemented", listed.text), (
        listed.text
    )


async def test_follow_ups_lean_on_the_previous_turn(seeded_db: Database) -> None:
    first = await ask(seeded_db, "How many attacks were there in Khyber Pakhtunkhwa in 2023?")
    second = await ask(seeded_db, "and in Balochistan?", first.context)
    assert has(second, "110"), second.text
    aps = await ask(seeded_db, "How many people were killed in the APS Peshawar attack in 2014?")
    children = await ask(seeded_db, "How many of them were children?", aps.context)
    assert has(aps, "147") and has(children, "132"), (aps.text, children.text)
    status = await ask(seeded_db, "What is the status of madrassa registration?")
    who = await ask(seeded_db, "Who is responsible for it?", status.context)
    assert "responsib" in who.text and cites(who, "item"), who.text
    started = await ask(seeded_db, "When did it start?", status.context)
    assert re.search(r"\b20\d\d\b", started.text), started.text


async def test_typos_text_speak_and_relative_years(seeded_db: Database) -> None:
    last_year = await ask(seeded_db, "hw many ppl were killed in kpk last year")
    assert has(last_year, "422", "2023"), last_year.text  # the latest year of data, not the clock
    typo = await ask(seeded_db, "what is the staus of madrasa registraton")
    assert typo.found and cites(typo, "item"), typo.text


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("TTP ne 2023 mein kitne hamle kiye?", "151"),
        ("2023 mein kitne log zakhmi hue?", "1124"),
        ("Karachi mein 2023 mein kitne hamle hue?", "14"),
        ("کے پی میں 2023 میں کتنے حملے ہوئے؟", "174"),
        ("کے پی میں ۲۰۲۳ میں کتنے حملے ہوئے؟", "174"),
        ("بلوچستان میں 2023 میں کتنے لوگ ہلاک ہوئے؟", "229"),
        ("نیکٹا کب بنی؟", "2009"),
    ],
)
async def test_roman_urdu_and_urdu(seeded_db: Database, question: str, expected: str) -> None:
    answer = await ask(seeded_db, question)
    assert answer.found and has(answer, expected), answer.text
    assert answer.language == ("ur" if re.search(r"[\u0600-\u06FF]", question) else "en")


@pytest.mark.parametrize(
    "question",
    [
        "What is the GDP of Pakistan?",
        "How many terrorist attacks were there in Pakistan in 1850?",
        "How many attacks did IS-K carry out in Gilgit in 2012?",
        "What is the capital of France?",
    ],
)
async def test_what_the_data_cannot_answer(seeded_db: Database, question: str) -> None:
    answer = await ask(seeded_db, question)
    assert answer.found is False and answer.citations == []
    asked = set(re.findall(r"\d+", question))
    assert not set(re.findall(r"\d+", answer.text)) - asked, answer.text
    assert "can answer" in answer.text
