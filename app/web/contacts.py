"""Crisis contacts as links a phone or browser can act on."""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.web.strings import Translator
from scoring.crisis import Contact

_PHONE = re.compile(r"^\+?[0-9][0-9 ()-]{1,30}$")


@dataclass(frozen=True, slots=True)
class ContactLink:
    label: str
    href: str | None
    note: str | None


def contact_link(contact: Contact, t: Translator) -> ContactLink:
    """A contact as a link the phone or browser can act on, or plain text when it is not one
    (for example "your local emergency number"). Only safe schemes are ever produced."""
    value = contact.value.strip()
    href: str | None = None
    digits = re.sub(r"[ ()-]", "", value)
    if contact.channel in {"call", "text"} and _PHONE.fullmatch(value):
        href = ("tel:" if contact.channel == "call" else "sms:") + digits
    elif contact.channel in {"chat", "web"} and value.startswith("https://"):
        href = value
    elif contact.channel == "email" and re.fullmatch(r"[^@\s]+@[^@\s]+\.[a-z]{2,}", value):
        href = f"mailto:{value}"
    label = t(f"resources.channel.{contact.channel}", value=value.removeprefix("https://"))
    return ContactLink(label, href, contact.note)
