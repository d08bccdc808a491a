"""The word lists in policy_data/search/ load, and say what they are meant to say."""

from app.chat.question import lexicon, to_english
from app.search.query import build_vocabulary, field_vocabulary


def test_synonym_sets_and_stopwords_load() -> None:
    sets, stopwords = field_vocabulary()
    assert len(sets) > 30 and all(len(group) >= 2 for group in sets)
    assert {"madrassa", "seminary", "deeni madaris"} <= set(
        next(g for g in sets if "madrassa" in g)
    )
    assert "what" in stopwords and "madrassa" not in stopwords


def test_aliases_join_the_synonyms_both_ways() -> None:
    vocabulary = build_vocabulary([["IS-K", "ISKP", "Daesh"]])
    assert "is k" in vocabulary.equivalents["daesh"]
    assert "daesh" in vocabulary.equivalents["iskp"]
    assert "madrasa" in vocabulary.equivalents["seminary"]


def test_the_chat_lexicon_reads_roman_urdu_urdu_and_text_speak() -> None:
    assert lexicon().latin and lexicon().urdu
    assert to_english("TTP ne 2023 mein kitne hamle kiye?")[0] == "TTP 2023 in how many attacks ?"
    english, language = to_english("کے پی میں ۲۰۲۳ میں کتنے حملے ہوئے؟")
    assert language == "ur" and "KP" in english and "2023" in english and "attacks" in english
    assert to_english("hw many ppl")[0] == "how many people"
