"""The runs of /admin/ in French: what each run was (its kind) and what it did (its summary).

The library records run summaries in English, for ``publisher status`` and the logs; this module
words them for staff: « mise à jour : 19 flux, 3 régénérés… », « 0 inscription non confirmée
supprimée ». A summary part it does not know stays as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from publisher.config import Config
from publisher.french import NARROW_NBSP, plural

_Q = NARROW_NBSP
KINDS = {
    "run-once": "Cycle de publication (run-once)",
    "feeds": "Mise à jour des flux",
    "purge-pending": "Suppression des inscriptions non confirmées",
    "prune-webhook-events": "Oubli des anciens identifiants d’événements SendGrid",
}
# Run kinds that name a newsletter: "newsletter:hebdo" (the service's schedule), "send:hebdo".
NEWSLETTER_KINDS = {"newsletter:": "Envoi programmé de", "send:": "Envoi manuel de"}


def run_label(config: Config, kind: str) -> str:
    """« Envoi manuel de « La lettre hebdo » », « Cycle de publication (run-once) »."""
    for prefix, words in NEWSLETTER_KINDS.items():
        if kind.startswith(prefix):
            newsletter = config.newsletters.get(kind.removeprefix(prefix))
            name = newsletter.title if newsletter else kind.removeprefix(prefix)
            return f"{words} «{_Q}{name}{_Q}»"
    return KINDS.get(kind, kind)


def _counted(one: str, other: str) -> Callable[[re.Match[str]], str]:
    return lambda match: f"{match[1]} {plural(int(match[1]), one, other)}"


def _fixed(words: str) -> Callable[[re.Match[str]], str]:
    return lambda match: match.expand(words)


# (English, French): the parts of the summaries of publisher.feeds, publisher.delivery,
# publisher.cycle and the service's jobs, most specific first.
_RULES: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (re.compile(pattern), words)
    for pattern, words in (
        (r"\bfull build: ", _fixed(f"reconstruction complète{_Q}: ")),
        (r"\bincremental build: ", _fixed(f"mise à jour{_Q}: ")),
        (r"\b(\d+) feeds?\b", _counted("flux", "flux")),
        (r"\b(\d+) rendered\b", _counted("régénéré", "régénérés")),
        (r"\b(\d+) files? written\b", _counted("fichier écrit", "fichiers écrits")),
        (r"\b(\d+) unchanged\b", _counted("inchangé", "inchangés")),
        (r"\b(\d+) removed\b", _counted("supprimé", "supprimés")),
        (r"\b(\d+) not written\b", _counted("non écrit", "non écrits")),
        (r" and (\d+) more\)", lambda match: f" et {match[1]} {plural(int(match[1]), 'autre', 'autres')})"),
        (r"\bWebSub: (\d+) announced\b", lambda match: f"WebSub{_Q}: {_counted('annoncé', 'annoncés')(match)}"),
        (r"\b(\d+) pending \(hub: ", _fixed(f"\\1 en attente (hub{_Q}: ")),
        (r"\bnothing new to send\b", _fixed("rien de nouveau à envoyer")),
        (r"\b(\d+) editions?\b", _counted("édition", "éditions")),
        (r"\b(\d+) sent\b", _counted("envoyé", "envoyés")),
        (r"\b(\d+) failed\b", _fixed("\\1 en échec")),
        (r"\b(\d+) unknown\b", _fixed("\\1 d’issue inconnue")),
        (r"\b(\d+) skipped\b", _counted("écarté", "écartés")),
        (r"\b(\d+) pending\b", _fixed("\\1 en attente")),
        (r"\bPAUSED: ", _fixed(f"EN PAUSE{_Q}: ")),
        (r"\bno newsletter due\b", _fixed("aucune lettre à envoyer")),
        (r"^not due$", _fixed("pas encore l’heure")),
        (r"\bnot due \(next: never\)", _fixed("pas encore l’heure (aucun envoi prévu)")),
        (r"\bnot due \(next: (.+?)\)", _fixed(f"pas encore l’heure (prochain envoi{_Q}: \\1)")),
        (
            r"\bsend due at (.+?) missed by more than (.+?), skipped",
            _fixed("envoi prévu le \\1 manqué de plus de \\2, abandonné"),
        ),
        (r"\bpaused \(resume with `publisher send ([^`]+)`\)", _fixed(f"en pause (reprise{_Q}: publisher send \\1)")),
        (
            r"\b(\d+) unconfirmed sign-ups? deleted\b",
            _counted("inscription non confirmée supprimée", "inscriptions non confirmées supprimées"),
        ),
        (
            r"\b(\d+) event ids? older than (\d+) days forgotten\b",
            lambda match: (
                f"{_counted('identifiant d’événement oublié', 'identifiants d’événements oubliés')(match)} "
                f"(plus de {match[2]} jours)"
            ),
        ),
        (r"^nothing to do$", _fixed("rien à faire")),
        (r"(^|; )feeds: ", _fixed(f"\\1flux{_Q}: ")),
        (r"(^|; )newsletter:([\w-]+): ", _fixed(f"\\1lettre \\2{_Q}: ")),
        (r"(^|; )purge-pending: ", _fixed(f"\\1inscriptions non confirmées{_Q}: ")),
        (r"(^|; )prune-webhook-events: ", _fixed(f"\\1événements SendGrid{_Q}: ")),
        (r"(^|; )newsletters: ", _fixed(f"\\1lettres{_Q}: ")),
        (r"(^|; )webhook events: ", _fixed(f"\\1événements SendGrid{_Q}: ")),
        (r"(?<=[\w)]): (?=\S)", _fixed(f"{_Q}: ")),  # « hebdo : 1 édition », a reason's « chemin : raison »
        (r" ?; ", _fixed(f"{_Q}; ")),
    )
]


def summary_in_french(summary: str) -> str:
    """A run's summary (or error) as staff read it on /admin/."""
    for pattern, words in _RULES:
        summary = pattern.sub(words, summary)
    return summary
