"""Generate the demo subscribers (subscribers.csv) for Horizons Emploi-Formation Centre-Val de Loire.

Deterministic: seeded with random.Random(2026), so running it again gives a byte-identical file.
Usage: python make_subscribers.py [OUTPUT]   (default: subscribers.csv next to this script)
"""

from __future__ import annotations

import csv
import random
import re
import sys
import unicodedata
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROWS = 340
PARIS = ZoneInfo("Europe/Paris")
FIELDS = ["email", "name", "locale", "interests", "status", "consent_source", "consent_at", "bassin", "role"]

TAGS = [
    "bassin d'emploi",
    "actualité emploi-formation",
    "apprentissage",
    "travaux publics",
    "insertion par l'activité économique",
    "formation continue",
    "métiers en tension",
    "orientation",
    "handicap et emploi",
    "jeunes",
    "reconversion professionnelle",
    "VAE",
    "industrie",
    "santé et médico-social",
    "agriculture",
    "transition écologique",
    "numérique",
    "égalité femmes-hommes",
]
# The first tags are the most followed: weights decrease along the list.
TAG_WEIGHTS = [10, 9, 8, 7, 5, 6, 6, 5, 3, 5, 4, 3, 4, 4, 2, 3, 3, 2]

BASSINS = ["Tours", "Orléans", "Bourges", "Chartres", "Blois", "Châteauroux", "Vierzon", "Dreux", "Montargis"]
BASSIN_WEIGHTS = [18, 17, 10, 10, 10, 9, 7, 8, 7]

ROLES = ["conseiller", "formateur", "employeur", "demandeur d'emploi", "élu", "journaliste"]
ROLE_WEIGHTS = [30, 20, 20, 20, 6, 4]

STATUSES = ["active", "unsubscribed", "pending", "bounced"]
STATUS_WEIGHTS = [90, 5, 3, 2]

CONSENT_SOURCES = [
    "formulaire site",
    "salon apprentissage 2026",
    "import CRM",
    "forum emploi Tours 2025",
    "newsletter partenaire",
    "inscription webinaire",
    "nuit de l'orientation 2025",
]
CONSENT_WEIGHTS = [45, 12, 15, 8, 7, 9, 4]

# Domains by role (all reserved for examples or tests); example.org and example.net dominate.
DOMAINS = {
    "conseiller": ["example.org", "example.net", "mission-locale.test", "maison-emploi.test"],
    "formateur": ["example.org", "example.net", "cfa-centre.test", "greta-exemple.test"],
    "employeur": ["example.org", "example.net", "entreprise-loire.test", "btp-centre.test"],
    "demandeur d'emploi": ["example.org", "example.net", "courriel.test"],
    "élu": ["example.org", "mairie-exemple.test", "agglo-exemple.test"],
    "journaliste": ["example.net", "presse-regionale.test", "radio-locale.test"],
}

FIRST_NAMES = [
    "Élodie",
    "Hélène",
    "Jérôme",
    "François",
    "Anaïs",
    "Loïc",
    "Maëlle",
    "Noémie",
    "Zoé",
    "Gaëlle",
    "Benoît",
    "Cédric",
    "Léa",
    "Chloé",
    "Théo",
    "Mathéo",
    "Inès",
    "Raphaël",
    "Clément",
    "Émilie",
    "Sébastien",
    "Stéphanie",
    "Frédéric",
    "Aurélie",
    "Amélie",
    "Jérémy",
    "Océane",
    "Maël",
    "Célia",
    "Léon",
    "Camille",
    "Julie",
    "Nicolas",
    "Thomas",
    "Sophie",
    "Pierre",
    "Marie",
    "Lucas",
    "Manon",
    "Hugo",
    "Sarah",
    "Antoine",
    "Laura",
    "Paul",
    "Emma",
    "Louis",
    "Pauline",
    "Alexandre",
    "Claire",
    "Julien",
    "Nadia",
    "Karim",
    "Yasmine",
    "Mehdi",
    "Fatou",
    "Moussa",
    "Sonia",
    "Rachid",
    "Leïla",
    "Samir",
    "Jean-Baptiste",
    "Marie-Claire",
    "Anne-Sophie",
    "Jean-Luc",
    "Marie-Hélène",
    "Pierre-Yves",
    "Christophe",
    "Isabelle",
    "Nathalie",
    "Valérie",
    "Sylvie",
    "Patrick",
    "Philippe",
    "Catherine",
    "Gwenaëlle",
    "Joël",
    "Agnès",
    "Thérèse",
    "Bérénice",
    "Grégoire",
    "Ophélie",
    "Mélanie",
    "Josiane",
]
LAST_NAMES = [
    "Lefèvre",
    "Bénard",
    "Gérard",
    "Dupré",
    "Rémy",
    "Lemaître",
    "Dubois",
    "Moreau",
    "Laurent",
    "Girard",
    "Bonnet",
    "Mercier",
    "Lambert",
    "Faure",
    "Rousseau",
    "Blanc",
    "Guérin",
    "Boyer",
    "Garnier",
    "Chevalier",
    "Legrand",
    "Gauthier",
    "Perrin",
    "Robin",
    "Clément",
    "Morin",
    "Henry",
    "Roussel",
    "Masson",
    "Marchand",
    "Duval",
    "Denis",
    "Dumont",
    "Lemaire",
    "Noël",
    "Meyer",
    "Dufour",
    "Meunier",
    "Brun",
    "Blanchard",
    "Giraud",
    "Joly",
    "Rivière",
    "Brunet",
    "Gaillard",
    "Barbier",
    "Arnaud",
    "Roche",
    "Renard",
    "Leroux",
    "Colin",
    "Vidal",
    "Caron",
    "Picard",
    "Fabre",
    "Aubert",
    "Lemoine",
    "Renaud",
    "Dumas",
    "Lacroix",
    "Bourgeois",
    "Leclerc",
    "Guillaume",
    "Lecomte",
    "Hubert",
    "Berger",
    "Carpentier",
    "Moulin",
    "Deschamps",
    "Fleury",
    "Jacquet",
    "Poirier",
    "Aubry",
    "Guyot",
    "Carré",
    "Charpentier",
    "Ménard",
    "Maillard",
    "Hervé",
    "Léger",
    "Bouvier",
    "Prévost",
    "Germain",
    "Breton",
    "Besson",
    "Langlois",
    "Pelletier",
    "Lévêque",
    "Lebrun",
    "Boulanger",
    "Michaud",
    "Étienne",
    "Poulain",
    "Tessier",
    "Chauvin",
    "Maréchal",
    "Barthélemy",
    "Le Gall",
    "Le Roux",
    "Da Silva",
    "N'Diaye",
    "Benali",
    "Haddad",
    "Diallo",
    "Nguyen",
    "Ben Salem",
    "Courtois",
    "Delorme",
    "Vasseur",
    "Pineau",
    "Thibault",
    "Sauvageot",
    "Desbois",
    "Chénier",
]
EN_FIRST = ["Emma", "Oliver", "Grace", "James", "Hannah", "Daniel", "Sophie", "William", "Chloe", "Ryan"]
EN_LAST = ["Clarke", "Hughes", "Turner", "Walsh", "Bennett", "Murphy", "O'Brien", "Fraser", "Hall", "Reid"]

CONSENT_START = datetime(2025, 1, 1, tzinfo=PARIS)
CONSENT_END = datetime(2026, 8, 20, tzinfo=PARIS)

_LIGATURES = str.maketrans({"œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE"})


def ascii_lower(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.translate(_LIGATURES))
    return decomposed.encode("ascii", "ignore").decode("ascii").lower()


def slugify(name: str) -> str:
    """Same rule as publisher.slugs.slugify: "bassin d'emploi" -> "bassin-d-emploi"."""
    return re.sub(r"[^a-z0-9]+", "-", ascii_lower(name)).strip("-")


def address_part(name: str) -> str:
    """ "Le Gall" -> "legall", "N'Diaye" -> "ndiaye", "Jean-Baptiste" -> "jean-baptiste"."""
    return re.sub(r"[^a-z0-9-]", "", ascii_lower(name))


def make_email(rng: random.Random, first: str, last: str, domain: str, taken: set[str]) -> str:
    given, family = address_part(first), address_part(last)
    patterns = [
        f"{given}.{family}",
        f"{given}.{family}",
        f"{given}.{family}",
        f"{given[0]}.{family}",
        f"{given}{family}",
        f"{family}.{given}",
    ]
    local = rng.choice(patterns)
    email = f"{local}@{domain}"
    n = 2
    while email in taken:
        email = f"{local}{n}@{domain}"
        n += 1
    taken.add(email)
    return email


def make_interests(rng: random.Random) -> str:
    count = rng.choices([1, 2, 3, 4], weights=[25, 35, 25, 15])[0]
    chosen: list[str] = []
    while len(chosen) < count:
        tag = rng.choices(TAGS, weights=TAG_WEIGHTS)[0]
        if tag not in chosen:
            chosen.append(tag)
    style = rng.random()
    if style < 0.15:  # all slugs, as exported by an older CRM
        chosen = [slugify(t) for t in chosen]
    elif style < 0.25:  # a mix of display names and slugs
        chosen = [slugify(t) if rng.random() < 0.5 else t for t in chosen]
    return "|".join(chosen)


def make_consent_at(rng: random.Random) -> str:
    days = (CONSENT_END.date() - CONSENT_START.date()).days
    day = CONSENT_START.date() + timedelta(days=rng.randrange(days + 1))
    hour = rng.randint(7, 22)  # daytime only: never in the ambiguous hour of a DST change
    minute = rng.randrange(60)
    second = rng.randrange(60)
    local = datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=PARIS)
    return local.isoformat()


def rows() -> list[dict[str, str]]:
    rng = random.Random(2026)
    taken: set[str] = set()
    result = []
    for _ in range(ROWS):
        english = rng.random() < 0.04
        if english:
            first, last = rng.choice(EN_FIRST), rng.choice(EN_LAST)
        else:
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        role = rng.choices(ROLES, weights=ROLE_WEIGHTS)[0]
        domain = rng.choice(DOMAINS[role])
        result.append(
            {
                "email": make_email(rng, first, last, domain, taken),
                "name": f"{first} {last}",
                "locale": "en" if english else "fr",
                "interests": make_interests(rng),
                "status": rng.choices(STATUSES, weights=STATUS_WEIGHTS)[0],
                "consent_source": rng.choices(CONSENT_SOURCES, weights=CONSENT_WEIGHTS)[0],
                "consent_at": make_consent_at(rng),
                "bassin": rng.choices(BASSINS, weights=BASSIN_WEIGHTS)[0],
                "role": role,
            }
        )
    return result


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("subscribers.csv")
    with out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows())
    print(f"wrote {ROWS} subscribers to {out}")


if __name__ == "__main__":
    main()
