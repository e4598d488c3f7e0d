"""Subscriber CSV import: good rows in, bad rows reported by line, nobody who left comes back."""

import shutil
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from support.apps import app_for
from support.config import TEST_CONFIG
from support.subscribers import add_tags, write_csv

from publisher.config import Secrets
from publisher.errors import PublisherError
from publisher.subscribers.csv_import import import_csv
from publisher.subscribers.csv_speed import ImportTuning
from publisher.subscribers.lifecycle import find_subscriber, forget, show, suppress, unsubscribe


@pytest.fixture
def tags(store):
    return add_tags(store)


def statuses(store):
    return dict(store.conn.execute("SELECT email, status FROM subscribers ORDER BY id"))


# Large files are read in a child process (publisher.child_process): 0 sends every file there.
READ_IN = pytest.mark.parametrize(
    "tuning",
    [ImportTuning(read_in_child_from_bytes=10**9), ImportTuning(read_in_child_from_bytes=0)],
    ids=["inline", "child-process"],
)


@READ_IN
def test_malformed_and_duplicate_rows_good_ones_imported_others_reported_by_line(app, store, tags, tmp_path, tuning):
    path = write_csv(
        tmp_path / "contacts.csv",
        "marie.dupont@example.org,Marie Dupont,fr,apprentissage|bassin d'emploi,active,salon,2026-03-01,Tours,"
        "conseiller",
        "pas-une-adresse,Jean,fr,,active,,,,",  # line 3: malformed address
        "  Marie.Dupont@EXAMPLE.org ,,,VAE,,,,,formateur",  # line 4: duplicate, other case: merged
        "luc@exämple.fr,Luc,fr,jeunes|inconnu,active,,,Blois,",  # line 5: IDN, one unknown tag
        "ana@example.org,Ana,fr,,actif,,,,",  # line 6: unknown status
        "zoe@example.org,Zoé,fr,,active,,31/02/2026,,",  # line 7: impossible date
        "paul@example.org,Paul,fr,,active,,,,,extra",  # line 8: too many fields
        "",
        "theo@example.org,Théo,klingon-xx,,,,,,",  # line 10: bad locale
    )
    report = import_csv(app, path, tuning=tuning)

    assert report.inserted == 2 and report.merged == 1 and report.updated == 0
    assert [str(error) for error in report.rejected] == [
        f"{path}:3: email: 'pas-une-adresse': An email address must have an @-sign",
        f"{path}:6: status: unknown status 'actif' (expected pending, active, unsubscribed, bounced, complained)",
        f"{path}:7: consent_at: '31/02/2026' is not a date (expected ISO 8601, e.g. 2026-03-28T14:00:00+01:00)",
        f"{path}:8: row: 10 fields, the header has 9",
        f"{path}:10: locale: 'klingon-xx' is not a language code (expected e.g. fr, en, fr-BE)",
    ]
    assert [str(note) for note in report.warnings] == [
        f"{path}:4: email: duplicate of line 2, merged",
        f"{path}:5: interests: unknown tag 'inconnu', ignored",
    ]
    assert statuses(store) == {"marie.dupont@example.org": "active", "luc@xn--exmple-cua.fr": "active"}
    marie = show(app, "marie.dupont@example.org")
    assert [interest["slug"] for interest in marie["interests"]] == ["apprentissage", "bassin-d-emploi", "vae"]
    assert marie["attributes"] == {"bassin": "Tours", "role": "formateur"}
    assert marie["consent"] == {"source": "salon", "at": "2026-03-01T00:00:00+01:00"}  # site time zone
    assert [entry["to"] for entry in marie["history"]] == ["active"]
    assert marie["history"][0]["source"] == "import contacts.csv:2"
    assert [interest["slug"] for interest in show(app, "luc@exämple.fr")["interests"]] == ["jeunes"]


# An import holds the stored address keys when the file has about as many rows as the store
# has subscribers (rows estimated at bytes_per_row bytes), up to stored_keys_max; otherwise it
# looks every row up in the store. Both paths, whatever the size of these small files:
STORED_KEYS = pytest.mark.parametrize(
    "stored_keys",
    [ImportTuning(stored_keys_max=500_000, bytes_per_row=1), ImportTuning(stored_keys_max=0)],
    ids=["keys-in-memory", "keys-looked-up"],
)


@STORED_KEYS
def test_reimport_after_unsubscribe_bounce_and_complaint_reactivates_nobody(app, store, tags, tmp_path, stored_keys):
    path = write_csv(
        tmp_path / "a.csv",
        "un@example.org,Un,fr,,active,,,,",
        "deux@example.org,Deux,fr,,active,,,,",
        "trois@example.org,Trois,fr,,active,,,,",
    )
    import_csv(app, path, tuning=stored_keys)
    unsubscribe(app, find_subscriber(app, "un@example.org").id, "lien de désinscription")
    suppress(app, find_subscriber(app, "deux@example.org").id, "bounced", "sendgrid webhook")
    suppress(app, find_subscriber(app, "trois@example.org").id, "complained", "sendgrid webhook")

    again = write_csv(
        tmp_path / "b.csv",
        "UN@example.org,Un Autre Nom,fr,apprentissage,active,,,Tours,",
        "deux@example.org,Deux,fr,,,,,,",
        "trois@example.org,Trois,fr,,pending,,,,",
    )
    report = import_csv(app, again, tuning=stored_keys)

    assert statuses(store) == {
        "un@example.org": "unsubscribed",
        "deux@example.org": "bounced",
        "trois@example.org": "complained",
    }
    assert [str(note) for note in report.skipped] == [
        f"{again}:2: status: unsubscribed since 2026-11-26; not re-activated",
        f"{again}:3: status: bounced since 2026-11-26; not re-activated",
        f"{again}:4: status: complained since 2026-11-26; not re-activated",
    ]
    assert report.ok and report.inserted == report.updated == 0
    un = show(app, "un@example.org")
    assert un["name"] == "Un" and un["interests"] == [] and un["attributes"] == {}  # nothing of the row was taken


def test_reimport_after_forget_is_refused(app, store, tags, tmp_path):
    path = write_csv(tmp_path / "a.csv", "marie@example.org,Marie,fr,apprentissage,active,,,Tours,")
    import_csv(app, path)
    assert forget(app, "Marie@Example.org").found

    report = import_csv(app, write_csv(tmp_path / "b.csv", "MARIE@example.org,Marie,fr,,active,,,,"))
    assert report.inserted == 0
    assert [note.message for note in report.skipped] == [
        "this address was forgotten at its owner's request; not imported"
    ]
    assert statuses(store) == {}
    assert store.conn.execute("SELECT count(*) FROM subscriber_history").fetchone()[0] == 0


def test_import_applies_leaving_and_confirms_pending_but_never_downgrades(app, store, tags, tmp_path):
    import_csv(
        app,
        write_csv(
            tmp_path / "a.csv",
            "actif@example.org,,,,active,,,,",
            "attente@example.org,,,,pending,,,,",
            "part@example.org,,,,active,,,,",
            "plainte@example.org,,,,unsubscribed,,,,",
        ),
    )
    report = import_csv(
        app,
        write_csv(
            tmp_path / "b.csv",
            "actif@example.org,,,,pending,,,,",  # no downgrade to pending
            "attente@example.org,,,,active,salon 2026,2026-05-01T10:00:00+02:00,,",  # confirmed by staff
            "part@example.org,,,,unsubscribed,,,,",  # leaving is always applied
            "plainte@example.org,,,,complained,,,,",  # a stronger reason replaces a weaker one
        ),
    )
    assert statuses(store) == {
        "actif@example.org": "active",
        "attente@example.org": "active",
        "part@example.org": "unsubscribed",
        "plainte@example.org": "complained",
    }
    assert (report.updated, report.unchanged) == (3, 1)
    confirmed = show(app, "attente@example.org")
    assert confirmed["consent"] == {"source": "salon 2026", "at": "2026-05-01T10:00:00+02:00"}
    assert [(entry["from"], entry["to"]) for entry in confirmed["history"]] == [
        (None, "pending"),
        ("pending", "active"),
    ]


@STORED_KEYS
def test_merge_adds_interests_and_attributes_never_removes(app, store, tags, tmp_path, stored_keys):
    import_csv(
        app,
        write_csv(tmp_path / "a.csv", "m@example.org,Marie,fr,apprentissage|VAE,active,,,Tours,conseiller"),
        tuning=stored_keys,
    )
    report = import_csv(app, write_csv(tmp_path / "b.csv", "m@example.org,,en,jeunes,,,,Blois,"), tuning=stored_keys)
    assert report.updated == 1
    marie = show(app, "m@example.org")
    assert [interest["slug"] for interest in marie["interests"]] == ["apprentissage", "jeunes", "vae"]
    assert marie["attributes"] == {"bassin": "Blois", "role": "conseiller"}
    assert (marie["name"], marie["locale"]) == ("Marie", "en")
    assert marie["history"][-1]["change"] == "interests" and marie["history"][-1]["detail"] == "added jeunes"
    same_again = write_csv(tmp_path / "c.csv", "m@example.org,,en,jeunes,,,,Blois,")
    assert import_csv(app, same_again, tuning=stored_keys).unchanged == 1


def test_in_file_duplicate_that_left_wins_over_an_earlier_active_row(app, store, tags, tmp_path):
    report = import_csv(
        app,
        write_csv(
            tmp_path / "a.csv",
            "m@example.org,,,,active,,,,",
            "m@example.org,,,,unsubscribed,,,,",
            "m@example.org,,,,active,,,,",
        ),
    )
    assert statuses(store) == {"m@example.org": "unsubscribed"}
    assert report.inserted == 1 and report.merged == 1
    assert [note.line for note in report.skipped] == [4]


def test_duplicates_across_chunks_are_merged(app, store, tags, tmp_path):
    report = import_csv(
        app,
        write_csv(
            tmp_path / "a.csv",
            "a@example.org,,,apprentissage,,,,,",
            "b@example.org,,,,,,,,",
            "c@example.org,,,,,,,,",
            "A@example.org,,,VAE,,,,,",
        ),
        tuning=ImportTuning(chunk_rows=2),
    )
    assert (report.inserted, report.merged) == (3, 1)
    assert [interest["slug"] for interest in show(app, "a@example.org")["interests"]] == ["apprentissage", "vae"]


def test_dry_run_reports_everything_and_writes_nothing(app, store, tags, tmp_path):
    path = write_csv(tmp_path / "a.csv", "a@example.org,,,,,,,,", "b@example.org,,,,,,,,", "oops,,,,,,,,")
    report = import_csv(app, path, dry_run=True)
    assert (report.inserted, len(report.rejected)) == (2, 1)
    assert report.summary().startswith("dry run, nothing written: 2 inserted")
    assert statuses(store) == {}
    assert import_csv(app, path).inserted == 2


def test_semicolons_bom_header_case_french_dates_and_defaults(app, store, tags, tmp_path):
    path = tmp_path / "excel.csv"
    path.write_text(
        "\ufeffEmail;Nom;Interests;Consent_at;Code Postal\n"
        "chloe@example.org;Chloé;Apprentissage | bassin-d-emploi;28/03/2026 14h05;37000\n",
        encoding="utf-8",
    )
    report = import_csv(app, path)
    assert report.inserted == 1, report.rejected
    chloe = show(app, "chloe@example.org")
    assert chloe["status"] == "active" and chloe["locale"] == "fr"
    assert chloe["consent"] == {"source": "import excel.csv", "at": "2026-03-28T14:05:00+01:00"}
    assert chloe["name"] == "Chloé" and chloe["attributes"] == {"code postal": "37000"}
    assert [interest["slug"] for interest in chloe["interests"]] == ["apprentissage", "bassin-d-emploi"]


def test_consent_at_defaults_to_the_import_time_and_refuses_the_future(app, store, tags, tmp_path):
    report = import_csv(
        app, write_csv(tmp_path / "a.csv", "a@example.org,,,,,,,,", "b@example.org,,,,,,2030-01-01T00:00:00Z,,")
    )
    assert [error.field for error in report.rejected] == ["consent_at"]
    assert find_subscriber(app, "a@example.org").consent_at == datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


@READ_IN
def test_file_level_errors_are_one_line(app, tmp_path, tuning):
    def imported(path):
        return import_csv(app, path, tuning=tuning)

    with pytest.raises(PublisherError, match=r"a\.csv:1: header: no email column"):
        imported(write_csv(tmp_path / "a.csv", "x", header="contact,name"))
    with pytest.raises(PublisherError, match="columns 'name' and 'Name' both read as name; keep one"):
        imported(write_csv(tmp_path / "b.csv", "x@example.org,a,b", header="email,name,Name"))
    with pytest.raises(PublisherError, match="column 'bassin' appears twice"):
        imported(write_csv(tmp_path / "c.csv", "x@example.org,a,b", header="email,bassin,Bassin"))


def test_multiline_quoted_fields_keep_line_numbers(app, store, tags, tmp_path):
    path = write_csv(
        tmp_path / "a.csv",
        'a@example.org,Marie,,,,,,"Tours\nNord",',
        "bad,,,,,,,,",
    )
    report = import_csv(app, path)
    assert [error.line for error in report.rejected] == [4]


def test_a_changed_secret_is_reported_because_forgotten_hashes_no_longer_match(app, store, tags, tmp_path):
    forget(app, "marie@example.org")
    app.secrets = Secrets(signing_secret="a new secret")
    report = import_csv(app, write_csv(tmp_path / "a.csv", "autre@example.org,,,,,,,,"))
    assert [note.message for note in report.warnings] == [
        "1 forgotten addresses were hashed under another PUBLISHER_SECRET and cannot be recognised"
    ]


def test_addresses_match_as_the_store_compares_them_ascii_case_only(app, store, tags, tmp_path):
    first = write_csv(tmp_path / "a.csv", "Elodie.Martin@example.org,Élodie,,,,,,,")
    assert import_csv(app, first).inserted == 1
    assert import_csv(app, first).unchanged == 1  # the same address again: found, not doubled
    other_ascii_case = write_csv(tmp_path / "b.csv", "elodie.MARTIN@Example.org,Élodie M.,,,,,,,")
    assert import_csv(app, other_ascii_case).updated == 1  # the same subscriber, renamed
    # Local parts that are not ASCII are refused (the address policy of publisher.addresses).
    accented = write_csv(tmp_path / "c.csv", "élodie.martin@example.org,,,,,,,,")
    assert [error.field for error in import_csv(app, accented).rejected] == ["email"]
    assert sorted(statuses(store)) == ["Elodie.Martin@example.org"]


def fresh_app(folder, clock):
    """Another App with its own migrated store and tags, in ``folder``."""
    folder.mkdir()
    shutil.copy(TEST_CONFIG, folder / "config.toml")
    app = app_for(folder / "config.toml", clock, migrate=True)
    add_tags(app.store)
    return app


def a_large_mixed_file(path):
    """5,000 rows, so more than two chunks: new addresses, duplicates within a chunk and across
    chunks, addresses stored before the import, a forgotten one and a bad row."""
    rows = []
    for number in range(5000):
        if number == 7:
            rows.append("stored.active@example.org,Renamed,,VAE,,,,Blois,")  # stored: updated
        elif number == 2600:
            rows.append("stored.left@example.org,,,,active,,,,")  # left: skipped
        elif number == 2700:
            rows.append("forgotten@example.org,,,,,,,,")  # forgotten: skipped
        elif number == 3000:
            rows.append("pas-une-adresse,,,,,,,,")  # rejected
        elif number in (10, 11):  # a duplicate within the first chunk
            rows.append(f"twice@example.org,,,{'jeunes' if number == 10 else 'VAE'},,,,,")
        elif number == 4500:  # a duplicate of line 3 (number 1), two chunks later
            rows.append("User.1@Example.org,,,apprentissage,unsubscribed,,,,")
        else:
            interests = ("apprentissage", "jeunes|VAE", "bassin d'emploi|travaux publics")[number % 3]
            rows.append(f"user.{number}@example.org,Abonné {number},fr,{interests},,,2026-03-01,Tours,conseiller")
    return write_csv(path, *rows)


def everything_stored(store):
    queries = (
        "SELECT * FROM subscribers ORDER BY id",
        "SELECT * FROM subscriber_interests ORDER BY subscriber_id, tag_id",
        "SELECT * FROM subscriber_attributes ORDER BY subscriber_id, name",
        "SELECT * FROM subscriber_history ORDER BY id",
    )
    return [store.conn.execute(query).fetchall() for query in queries]


@STORED_KEYS
def test_a_large_file_read_in_the_child_process_imports_exactly_as_read_here(tmp_path, clock, stored_keys):
    path = a_large_mixed_file(tmp_path / "contacts.csv")
    results = []
    for name, read_in_child_from_bytes in (("here", 10**9), ("child", 0)):
        tuning = replace(stored_keys, read_in_child_from_bytes=read_in_child_from_bytes)
        app = fresh_app(tmp_path / name, clock)
        before = write_csv(
            tmp_path / name / "before.csv",
            "stored.active@example.org,Stored,fr,jeunes,active,,,,",
            "stored.left@example.org,,,,unsubscribed,,,,",
            "forgotten@example.org,,,,,,,,",
        )
        import_csv(app, before, tuning=tuning)
        assert forget(app, "forgotten@example.org").found
        report = import_csv(app, path, tuning=tuning)
        results.append((report, everything_stored(app.store)))
        app.close()

    (here, stored_here), (child, stored_in_child) = results
    assert stored_in_child == stored_here
    assert [str(note) for note in child.warnings] == [str(note) for note in here.warnings]
    assert [str(note) for note in child.skipped] == [str(note) for note in here.skipped]
    assert [str(error) for error in child.rejected] == [str(error) for error in here.rejected]
    assert child.summary() == here.summary()
    # and what was imported is right: ids in the order of the file, each address once
    assert here.summary() == (
        "4994 inserted, 1 updated, 0 unchanged, 2 duplicates merged, 2 skipped, 1 rejected, 2 warnings"
    )
    assert [str(note) for note in here.warnings] == [
        f"{path}:13: email: duplicate of line 12, merged",
        f"{path}:4502: email: duplicate of line 3, merged",
    ]
    subscribers = stored_here[0]
    emails = [row[1] for row in subscribers]
    assert emails[:5] == [
        "stored.active@example.org",
        "stored.left@example.org",
        "user.0@example.org",
        "user.1@example.org",
        "user.2@example.org",
    ]
    assert len(emails) == len(set(emails)) == 4996
    assert emails.index("twice@example.org") == emails.index("user.9@example.org") + 1
    statuses = {row[1]: row[4] for row in subscribers}
    assert statuses["user.1@example.org"] == "unsubscribed"
    assert statuses["stored.left@example.org"] == "unsubscribed"
