"""The Atom feed (RFC 4287) of approved status changes and new timeline events."""

import re
from datetime import UTC, datetime, time
from xml.etree import ElementTree as ET

from app.policies.schemas import TimelineEntry

ATOM = "http://www.w3.org/2005/Atom"
ET.register_namespace("", ATOM)


# What XML 1.0 cannot hold even escaped: most control characters (a note may carry a stray
# escape or vertical tab), lone surrogates, U+FFFE/U+FFFF. ElementTree writes them as they are,
# and one of them makes the whole feed unreadable, so they are left out.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(value: str) -> str:
    return _NOT_XML.sub("", value)


def _el(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", {k: _xml_text(v) for k, v in attrs.items()})
    if text is not None:
        element.text = _xml_text(text)
    return element


def _stamp(entry: TimelineEntry) -> str:
    return datetime.combine(entry.date, time(0, 0), tzinfo=UTC).isoformat()


def atom_feed(events: list[TimelineEntry], *, base_url: str, feed_url: str, subtitle: str) -> bytes:
    feed = ET.Element(f"{{{ATOM}}}feed")
    _el(feed, "id", feed_url)
    _el(feed, "title", "Nigran: Pakistan counter-terrorism policy changes")
    _el(feed, "subtitle", subtitle)
    _el(feed, "updated", max((_stamp(e) for e in events), default=datetime.now(UTC).isoformat()))
    _el(feed, "link", href=feed_url, rel="self", type="application/atom+xml")
    author = _el(feed, "author")
    _el(author, "name", "Nigran")
    for event in events:
        item_url = f"{base_url}api/v1/items/{event.item}"
        entry = _el(feed, "entry")
        _el(entry, "id", f"{base_url}api/v1/timeline/events/{event.id}")
        title = f"{event.item_title or event.item}: {event.type.replace('_', ' ')} ({event.date.isoformat()})"
        _el(entry, "title", title)
        _el(entry, "updated", _stamp(event))
        # Feed readers open the page; programs can follow the JSON record.
        _el(entry, "link", href=f"{base_url}items/{event.item}", rel="alternate", type="text/html")
        _el(entry, "link", href=item_url, rel="related", type="application/json")
        _el(entry, "category", term=event.type)
        cited = "; ".join(
            ", ".join(str(p) for p in (s.document or s.doc, s.table, s.section, s.url) if p)
            for s in event.sources
        )
        _el(
            entry,
            "summary",
            f"{event.description} Sources: {cited}" if cited else event.description,
        )
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)
