-- Feeds: what the last build published, so the next build rewrites only the feeds that changed.

-- One row per published feed: the site feed ('all') and every tag feed with visible articles.
CREATE TABLE feeds (
    name        TEXT PRIMARY KEY,              -- file stem under [feeds] output_dir: 'all', 'tags/<slug>'
    tag_id      INTEGER REFERENCES tags (id) ON DELETE CASCADE,  -- NULL for the site feed
    label       TEXT NOT NULL,                 -- the tag's name, or the site title
    digest      TEXT NOT NULL,                 -- sha256 of everything the feed was rendered from
    items       INTEGER NOT NULL,
    updated_at  TEXT NOT NULL                  -- the newest item's time, which is the feed's own
);
CREATE INDEX feeds_tag ON feeds (tag_id);

-- The articles each feed shows: an edited, re-tagged, unpublished or deleted article marks them.
CREATE TABLE feed_items (
    feed        TEXT NOT NULL REFERENCES feeds (name) ON DELETE CASCADE,
    article_id  INTEGER NOT NULL,              -- no foreign key: a deleted article must still be found
    PRIMARY KEY (feed, article_id)
) WITHOUT ROWID;
CREATE INDEX feed_items_article ON feed_items (article_id, feed);

-- Settings digest and clock of the last completed build ('settings', 'built_at'), and
-- 'full_build_needed' when something the change log cannot express happened.
CREATE TABLE feed_state (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);

-- Articles changed since the last build, written by the triggers below inside the writer's own
-- transaction, so a change committed while a build runs is never lost. A build reads the log up
-- to its highest id and deletes exactly that much when it completes. An article's tags change
-- only together with its row (upsert_articles rewrites the row: the tags are in its fingerprint),
-- so article_tags needs no trigger of its own; after editing tables by hand, build with --full.
CREATE TABLE feed_changes (
    id          INTEGER PRIMARY KEY,
    article_id  INTEGER NOT NULL
);

CREATE TRIGGER feed_changes_article_insert AFTER INSERT ON articles
BEGIN
    INSERT INTO feed_changes (article_id) VALUES (NEW.id);
END;

CREATE TRIGGER feed_changes_article_update AFTER UPDATE ON articles
BEGIN
    INSERT INTO feed_changes (article_id) VALUES (NEW.id);
END;

CREATE TRIGGER feed_changes_article_delete AFTER DELETE ON articles
BEGIN
    INSERT INTO feed_changes (article_id) VALUES (OLD.id);
END;

-- A renamed tag changes its feed's title and a category of every article it has, in whichever
-- feeds show them, without changing a fingerprint: the next build renders every feed again.
CREATE TRIGGER feed_changes_tag_rename AFTER UPDATE OF name ON tags WHEN NEW.name IS NOT OLD.name
BEGIN
    INSERT OR REPLACE INTO feed_state (key, value) VALUES ('full_build_needed', 'tag renamed');
END;

-- Topic URLs of changed feeds not yet announced to the WebSub hub; retried at every build.
CREATE TABLE websub_pending (
    topic_url   TEXT PRIMARY KEY,
    queued_at   TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT
);
