"""The SQL behind feed builds: newest items per tag, and the change log the triggers keep."""

from __future__ import annotations

from datetime import timedelta

from support.articles import make_article, store_articles

from publisher.clock import to_db
from publisher.store.feeds import (
    change_log_end,
    changed_articles,
    clear_change_log,
    get_state,
    tag_items,
    tag_items_all,
)


def test_one_pass_over_all_tags_gives_what_one_query_per_tag_gives(store, clock):
    now = clock.now()
    articles = [make_article(n, tags=(f"thème {n % 5}", f"bassin {n % 3}")) for n in range(60)]
    articles += [make_article(100 + n, tags=("archives",)) for n in range(3)]  # only old articles
    articles[0] = make_article(0, tags=("archives",), published=now - timedelta(days=2000))
    articles += [
        make_article(200, tags=("thème 1",), status="draft"),
        make_article(201, tags=("thème 1", "futur"), published=now + timedelta(hours=1)),
    ]
    store_articles(store, *articles)
    tag_ids = [tag_id for (tag_id,) in store.conn.execute("SELECT id FROM tags")]

    for limit in (1, 4, 50):  # with 4, the pass stops before "archives" is full: it gets its own query
        expected = {tag_id: tag_items(store, tag_id, to_db(now), limit) for tag_id in tag_ids}
        assert tag_items_all(store, to_db(now), limit) == {tag_id: items for tag_id, items in expected.items() if items}
    futur = store.conn.execute("SELECT id FROM tags WHERE slug = 'futur'").fetchone()[0]
    assert futur not in tag_items_all(store, to_db(now), 50)


def test_the_change_log_records_inserted_updated_and_deleted_articles_only(store):
    store_articles(store, make_article(1, tags=("emploi",)), make_article(2))
    end = change_log_end(store)
    ids = dict(store.conn.execute("SELECT guid, id FROM articles"))
    assert changed_articles(store, end) == set(ids.values())
    clear_change_log(store, end)

    store_articles(store, make_article(1, tags=("emploi",)), make_article(2))  # unchanged: no write, no log
    assert changed_articles(store, change_log_end(store)) == set()

    store_articles(store, make_article(1, tags=("emploi", "nouveau")))
    with store.transaction() as conn:
        conn.execute("DELETE FROM articles WHERE guid = ?", (make_article(2).guid,))
    assert changed_articles(store, change_log_end(store)) == {ids[make_article(1).guid], ids[make_article(2).guid]}


def test_renaming_a_tag_asks_for_a_full_build(store):
    store_articles(store, make_article(1, tags=("emploi",)))
    with store.transaction() as conn:
        conn.execute("UPDATE tags SET name = 'emploi' WHERE slug = 'emploi'")  # same name: nothing to do
    assert get_state(store, "full_build_needed") is None
    with store.transaction() as conn:
        conn.execute("UPDATE tags SET name = 'Emploi et formation' WHERE slug = 'emploi'")
    assert get_state(store, "full_build_needed") == "tag renamed"
