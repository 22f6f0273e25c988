"""How the crisis notice is drawn: in full, or as a compact reminder, and its first action.

- **In full** the first time a level is shown in this browser for its response (and always on
  the results and help pages and when the script inserts it): heading, the emergency action for
  acute, the message, every service, the country choice when the country is not known.
- **Compact** on later pages once that level was shown in full: heading, the emergency action
  for acute, the first two contacts and a link to the full help. It has no control that hides
  it, and a higher level is shown in full again.
- **Emergency action** for acute: the country's emergency number as a ``tel:`` link; where the
  country is not known, 112 (which the resources file names as working in many countries)
  "or your local emergency number".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.web.contacts import ContactLink, contact_link
from app.web.strings import Translator
from scoring.catalog import Catalog
from scoring.crisis import CrisisNotice, CrisisResource
from scoring.definition import CRISIS_LEVEL_ORDER

FALLBACK_EMERGENCY_NUMBER = "112"
COMPACT_CONTACTS = 2
IMMEDIATE_CHANNELS = frozenset({"call", "text", "chat"})


@dataclass(frozen=True, slots=True)
class NamedContact:
    service: str
    link: ContactLink


@dataclass(frozen=True, slots=True)
class NoticeShown:
    """Everything ``_notice.html`` needs besides the notice itself."""

    compact: bool
    emergency: ContactLink | None
    first_contacts: tuple[NamedContact, ...]
    countries: tuple[tuple[str, str], ...]
    """Offered as a plain GET form when the notice lists no country's own services."""


def is_local(resources: Sequence[CrisisResource]) -> bool:
    return any(resource.country for resource in resources)


def emergency_action(resources: Sequence[CrisisResource], t: Translator) -> ContactLink:
    """The call to make when someone is in danger now, always as a link a phone can dial."""
    for resource in resources:
        if resource.kind != "emergency":
            continue
        for contact in resource.contacts:
            link = contact_link(contact, t)
            if contact.channel == "call" and link.href:
                return ContactLink(
                    t("notice.emergency_call", number=contact.value), link.href, None
                )
    number = FALLBACK_EMERGENCY_NUMBER
    return ContactLink(t("notice.emergency_unknown", number=number), f"tel:{number}", None)


def first_contacts(
    resources: Sequence[CrisisResource], t: Translator, emergency: ContactLink | None
) -> tuple[NamedContact, ...]:
    """The first contacts someone can reach at once (call, text, chat), in notice order."""
    named = [
        NamedContact(resource.name, link)
        for resource in resources
        for contact in resource.contacts
        for link in (contact_link(contact, t),)
        if link.href
        and contact.channel in IMMEDIATE_CHANNELS
        and (emergency is None or link.href != emergency.href)
    ]
    return tuple(named[:COMPACT_CONTACTS])


def countries(catalog: Catalog) -> tuple[tuple[str, str], ...]:
    return tuple(
        sorted(
            ((code, entry.name) for code, entry in catalog.crisis.countries.items()),
            key=lambda pair: pair[1],
        )
    )


def shown(
    catalog: Catalog, notice: CrisisNotice, t: Translator, *, compact: bool = False
) -> NoticeShown:
    emergency = emergency_action(notice.resources, t) if notice.level == "acute" else None
    return NoticeShown(
        compact=compact,
        emergency=emergency,
        first_contacts=first_contacts(notice.resources, t, emergency),
        countries=() if is_local(notice.resources) else countries(catalog),
    )


def in_full(notice: CrisisNotice, seen_rank: int, *, always: bool) -> bool:
    """Whether this page shows the notice in full (and so marks its level as seen)."""
    return always or CRISIS_LEVEL_ORDER[notice.level] > seen_rank
