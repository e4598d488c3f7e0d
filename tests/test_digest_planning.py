"""Planning editions: only new articles, one compiled edition per distinct content, atomic."""

from __future__ import annotations

from datetime import timedelta

import pytest
from support.articles import store_articles
from support.digests import app_with, digest_article, members, tag_id, week_of_articles

from publisher.digests import needs_interests, plan_editions
from publisher.errors import NotFoundError, TemplateError
from publisher.models import Recipient
from publisher.store.digests import recent_plans
from publisher.store.editions import set_edition_status


def plan(app, slug="hebdo", people=None, **options):
    """Run plan_editions in one transaction, as the delivery code does; return its batches."""
    people = members(3) if people is None else people
    with app.store.transaction():
        return list(plan_editions(app, slug, [people], **options))


def count(store, table):
    return store.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_one_edition_for_everyone_when_selection_is_all(app, clock):
    week_of_articles(app.store, clock.now(), count=12)
    batches = plan(app, people=members(5))
    assert len(batches) == 1
    edition, recipients = batches[0]
    assert [r.subscriber_id for r in recipients] == [1, 2, 3, 4, 5]
    assert edition.id is not None and edition.status == "ready"
    assert (edition.newsletter, edition.segment) == ("hebdo", "tous")
    assert len(edition.article_ids) == 10  # max_items, newest first
    assert "Et 2 autres articles" in edition.html
    assert count(app.store, "editions") == 1
    [history] = recent_plans(app.store, "hebdo")
    assert (history.status, history.candidate_count, history.edition_count, history.recipient_count) == (
        "planned",
        12,
        1,
        5,
    )


def test_nothing_new_makes_no_edition_and_is_recorded(app, clock):
    week_of_articles(app.store, clock.now(), count=3)
    assert plan(app)
    clock.advance(days=7)
    assert plan(app) == []
    latest = recent_plans(app.store, "hebdo")[0]
    assert latest.status == "nothing-new" and latest.edition_count == 0
    assert count(app.store, "editions") == 1


def test_only_articles_published_since_the_last_edition(app, clock):
    ids = week_of_articles(app.store, clock.now(), count=3)
    [(first, _)] = plan(app)
    assert set(first.article_ids) == set(ids.values())
    clock.advance(days=7)
    fresh = store_articles(app.store, digest_article(50, clock.now() - timedelta(days=1)))
    [(second, _)] = plan(app)
    assert second.article_ids == (fresh[digest_article(50, clock.now()).guid],)


def test_back_dated_and_edited_articles_never_go_out_twice(app, clock):
    ids = store_articles(app.store, digest_article(1, clock.now() - timedelta(days=1)))
    [(first, _)] = plan(app)
    clock.advance(days=7)
    # the same article edited and re-dated after the edition, plus one back-dated before it
    store_articles(
        app.store,
        digest_article(1, clock.now() - timedelta(hours=1), title="Titre corrigé"),
        digest_article(2, clock.now() - timedelta(days=30)),
    )
    assert plan(app) == []
    assert first.article_ids == (ids[digest_article(1, clock.now()).guid],)


def test_future_and_draft_articles_wait(app, clock):
    store_articles(
        app.store,
        digest_article(1, clock.now() + timedelta(hours=2)),
        digest_article(2, clock.now() - timedelta(hours=2), status="draft"),
    )
    assert plan(app) == []
    clock.advance(hours=3)
    [(edition, _)] = plan(app)
    assert len(edition.article_ids) == 1


def test_watermark_is_per_reader_whatever_the_segment(app, clock):
    week_of_articles(app.store, clock.now(), count=2)
    assert plan(app, segment="tous", people=members(3))
    # the same readers through another segment: already served
    assert plan(app, segment="apprentissage-tours", people=members(3)) == []
    # a reader never served gets that segment's own window (its first edition: everything)
    [(edition, [reader])] = plan(app, segment="apprentissage-tours", people=members(4))
    assert reader.subscriber_id == 4 and len(edition.article_ids) == 2
    assert plan(app, segment="tous", people=members(4)) == []


def test_interest_based_members_with_the_same_articles_share_one_edition(app, clock):
    week_of_articles(app.store, clock.now(), count=6)
    apprentissage, jeunes, bassin = (tag_id(app.store, s) for s in ("apprentissage", "jeunes", "bassin-d-emploi"))
    people = [
        Recipient(1, "a@example.org", interests=(apprentissage,)),
        Recipient(2, "b@example.org", interests=(jeunes,)),  # same articles as 1 (always tagged together)
        Recipient(3, "c@example.org", interests=(bassin,)),
        Recipient(4, "d@example.org", interests=(apprentissage, bassin)),
        Recipient(5, "e@example.org", interests=(tag_id(app.store, "travaux-publics") + 1000,)),  # nothing matches
        Recipient(6, "f@example.org", interests=()),
    ]
    assert needs_interests(app, "mes-sujets")
    batches = plan(app, "mes-sujets", people)
    by_recipient = {r.subscriber_id: edition for edition, batch in batches for r in batch}
    assert set(by_recipient) == {1, 2, 3, 4}
    assert by_recipient[1].id == by_recipient[2].id
    assert len({by_recipient[n].id for n in (1, 3, 4)}) == 3
    assert count(app.store, "editions") == 3
    articles_of = {edition.id: set(edition.article_ids) for edition in by_recipient.values()}
    assert articles_of[by_recipient[4].id] == articles_of[by_recipient[1].id] | articles_of[by_recipient[3].id]


def test_interest_selection_keeps_the_newest_max_items(app, clock):
    store_articles(app.store, *(digest_article(n, clock.now() - timedelta(hours=n)) for n in range(1, 13)))
    interest = tag_id(app.store, "apprentissage")
    [(edition, _)] = plan(app, "mes-sujets", [Recipient(1, "a@example.org", interests=(interest,))])
    assert len(edition.article_ids) == 8
    newest = app.store.conn.execute("SELECT id FROM articles ORDER BY published_at DESC LIMIT 8").fetchall()
    assert list(edition.article_ids) == [row[0] for row in newest]


def test_batches_group_one_edition_up_to_batch_size(app, clock):
    week_of_articles(app.store, clock.now(), count=2)
    chunks = [members(4, start=1), members(4, start=5), members(3, start=9)]
    with app.store.transaction():
        batches = list(plan_editions(app, "hebdo", chunks, batch_size=5))
    assert [len(batch) for _, batch in batches] == [5, 5, 1]
    assert len({edition.id for edition, _ in batches}) == 1
    assert [r.subscriber_id for _, batch in batches for r in batch] == list(range(1, 12))


def test_a_failing_caller_leaves_no_trace(app, clock):
    week_of_articles(app.store, clock.now(), count=2)
    with pytest.raises(RuntimeError), app.store.transaction():
        for _edition, _batch in plan_editions(app, "hebdo", [members(2)]):
            raise RuntimeError("the ledger insert failed")
    assert count(app.store, "editions") == 0 and count(app.store, "digest_plans") == 0
    assert plan(app)  # the articles are still new


def test_template_error_stores_nothing(app, clock, tmp_path):
    week_of_articles(app.store, clock.now(), count=2)
    (tmp_path / "newsletters" / "hebdo" / "digest.mjml.j2").write_text("{{ nope }}", encoding="utf-8")
    with pytest.raises(TemplateError):
        plan(app)
    assert count(app.store, "editions") == 0 and count(app.store, "digest_plans") == 0


def test_failed_editions_hand_their_articles_back(app, clock):
    week_of_articles(app.store, clock.now(), count=2)
    [(edition, _)] = plan(app)
    set_edition_status(app.store, edition.id, "failed", "transport down")
    clock.advance(days=1)
    [(again, _)] = plan(app)
    assert set(again.article_ids) == set(edition.article_ids) and again.id != edition.id


def test_no_member_gets_anything_is_recorded_and_consumes_the_articles(app, clock):
    week_of_articles(app.store, clock.now(), count=2)
    assert plan(app, "mes-sujets", [Recipient(1, "a@example.org", interests=())]) == []
    assert recent_plans(app.store)[0].status == "no-recipients"
    assert plan(app, "mes-sujets", members(1)) == []
    assert recent_plans(app.store)[0].status == "nothing-new"


def test_tags_selection_only_takes_articles_with_those_tags(config_file, clock):
    text = config_file.read_text(encoding="utf-8")
    config_file.write_text(
        text + '\n[newsletters.btp]\ntitle = "BTP"\nsubject = "BTP {{ edition_date }}"\nsegment = "tous"\n'
        'schedule = "0 9 * * 1"\nselection = "tags"\ntags = ["travaux publics"]\ngroup_by = "tag"\n',
        encoding="utf-8",
    )
    with app_with(config_file, clock) as app:
        week_of_articles(app.store, clock.now(), count=6)
        [(edition, _)] = plan(app, "btp")
    assert len(edition.article_ids) == 2
    assert "Travaux publics\n===============" in edition.text


def test_unknown_newsletter_or_segment_fails_before_iterating(app):
    with pytest.raises(NotFoundError, match="no newsletter 'nope'"):
        plan_editions(app, "nope", [])
    with pytest.raises(NotFoundError, match="no segment 'nope'"):
        plan_editions(app, "hebdo", [], segment="nope")


def test_partial_batches_are_handed_out_when_too_many_recipients_wait(app, clock, monkeypatch):
    from publisher.digests import planner

    week_of_articles(app.store, clock.now(), count=6)
    apprentissage, bassin = tag_id(app.store, "apprentissage"), tag_id(app.store, "bassin-d-emploi")
    monkeypatch.setattr(planner, "MAX_BUFFERED", 4)
    chunks = [
        [Recipient(n, f"{n}@example.org", interests=(apprentissage if n % 2 else bassin,)) for n in range(k, k + 3)]
        for k in (1, 4, 7)
    ]
    with app.store.transaction():
        batches = list(plan_editions(app, "mes-sujets", chunks, batch_size=100))
    # held back until 4 wait (after the 2nd chunk), then the rest at the end; nobody lost or repeated
    assert [len(batch) for _, batch in batches] == [3, 3, 2, 1]
    assert sorted(r.subscriber_id for _, batch in batches for r in batch) == list(range(1, 10))
    assert all(
        {r.interests for r in batch} == {(apprentissage,)} or {r.interests for r in batch} == {(bassin,)}
        for _, batch in batches
    )
