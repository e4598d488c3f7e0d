"""Subscriber CSV import, the header: which column of a spreadsheet is which known field.

A header cell names a known field when it is one of that field's names in HEADER_NAMES (French
or English, the table of docs/subscribers.md), compared without regard to case, accents, spaces
or punctuation (``Adresse e-mail``, ``ADRESSE ÉLECTRONIQUE``, ``centres d'intérêt``). The name
comes from one column (``name``, ``Nom complet``) or from a first-name and a last-name column
joined with a space (``Prénom`` + ``Nom``); a last-name column alone is the name. Every other
named column is an attribute, named as its header, trimmed and lower-cased (``bassin``).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from publisher.errors import PublisherError

# The stored fields, in the order an export writes them.
KNOWN_COLUMNS = ("email", "name", "locale", "interests", "status", "consent_source", "consent_at")
HEADER_NAMES: dict[str, tuple[str, ...]] = {
    "email": (
        "email",
        "e-mail",
        "mail",
        "courriel",
        "mél",
        "adresse électronique",
        "adresse e-mail",
        "adresse mail",
        "adresse courriel",
        "email address",
    ),
    "name": ("name", "full name", "nom complet", "nom et prénom", "prénom et nom", "prénom nom", "nom prénom"),
    "first_name": ("prénom", "first name", "given name"),
    "last_name": ("nom", "nom de famille", "last name", "surname", "family name"),
    "locale": ("locale", "langue", "language", "lang"),
    "interests": (
        "interests",
        "intérêts",
        "intérêt",
        "centres d'intérêt",
        "centre d'intérêt",
        "thèmes",
        "thème",
        "sujets",
        "sujet",
        "topics",
        "tags",
    ),
    "status": ("status", "statut"),
    "consent_source": ("consent_source", "source du consentement", "consent source"),
    "consent_at": ("consent_at", "date du consentement", "date de consentement", "consent date"),
}


def header_key(name: str) -> str:
    """A header name as compared: case, accents, spaces and punctuation left out."""
    letters = unicodedata.normalize("NFKD", name).casefold()
    return "".join(character for character in letters if character.isalnum())


_FIELD_OF_KEY = {header_key(name): field for field, names in HEADER_NAMES.items() for name in names}


@dataclass(frozen=True)
class Columns:
    """A file's header mapped: the index of each known field's column (``first_name`` and
    ``last_name`` kept apart), and (attribute name, index) for the other named columns."""

    header: tuple[str, ...]
    fields: dict[str, int]
    attributes: tuple[tuple[str, int], ...]

    def index(self, field: str) -> int | None:
        return self.fields.get(field)

    @property
    def name_parts(self) -> tuple[int, ...]:
        """The columns joined into the name: none, one, or first name and last name."""
        if "name" in self.fields:
            return (self.fields["name"],)
        return tuple(self.fields[part] for part in ("first_name", "last_name") if part in self.fields)

    @property
    def attribute_names(self) -> list[str]:
        return [name for name, _ in self.attributes]

    def mapping(self) -> list[str]:
        """One line per column: ``'Courriel' → email``, ``'Bassin' → attribute 'bassin'``…"""
        roles = {index: f"attribute {name!r}" for name, index in self.attributes}
        roles.update({index: _ROLES.get(field, field) for field, index in self.fields.items()})
        if len(self.name_parts) == 1:
            roles[self.name_parts[0]] = "name"
        return [
            f"{cell.strip()!r} → {roles[index]}" if index in roles else f"column {index + 1} (no name) → ignored"
            for index, cell in enumerate(self.header)
        ]


_ROLES = {"first_name": "name (first part)", "last_name": "name (last part)"}


def map_header(source: str, line: int, header: list[str]) -> Columns:
    """The mapping of a header row, or a PublisherError ``FILE:LINE: header: reason``."""
    fields: dict[str, int] = {}
    attributes: dict[str, int] = {}
    for index, cell in enumerate(header):
        name = cell.strip()
        _refuse_mojibake(source, line, name)
        field = _FIELD_OF_KEY.get(header_key(name))
        if field is not None:
            _claim(source, line, header, fields, field, index)
        elif name:
            if name.lower() in attributes:
                raise PublisherError(f"{source}:{line}: header: column {name.lower()!r} appears twice")
            attributes[name.lower()] = index
    if "email" not in fields:
        raise PublisherError(
            f"{source}:{line}: header: no email column (columns: {', '.join(map(str.strip, header)) or 'none'}; "
            "expected email, e-mail, courriel…)"
        )
    parts = [fields[part] for part in ("first_name", "last_name") if part in fields]
    if "name" in fields and parts:
        raise _ambiguous(source, line, header, fields["name"], parts[0], "name")
    return Columns(tuple(header), fields, tuple(attributes.items()))


def _claim(source: str, line: int, header: list[str], fields: dict[str, int], field: str, index: int) -> None:
    if field in fields:
        raise _ambiguous(source, line, header, fields[field], index, field)
    fields[field] = index


def _ambiguous(source: str, line: int, header: list[str], first: int, second: int, field: str) -> PublisherError:
    return PublisherError(
        f"{source}:{line}: header: columns {header[first].strip()!r} and {header[second].strip()!r} "
        f"both read as {field}; keep one"
    )


def _refuse_mojibake(source: str, line: int, name: str) -> None:
    """A header such as ``PrÃ©nom``: UTF-8 text once read as Windows-1252 and saved again, so
    every cell of the file is garbled alike (``Ã‰lodie``). Refused rather than imported so."""
    for encoding in ("cp1252", "latin-1"):
        try:
            meant = name.encode(encoding).decode("utf-8")
        except UnicodeError:
            continue
        if meant != name:
            raise PublisherError(
                f"{source}:{line}: header: {name!r} is garbled text (UTF-8 read as Windows-1252; "
                f"meant {meant!r}); export the file again from the original spreadsheet as CSV UTF-8"
            )
