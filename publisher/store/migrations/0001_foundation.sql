-- Articles, tags and subscribers. Times are UTC text 'YYYY-MM-DDTHH:MM:SSZ' (sortable).

CREATE TABLE articles (
    id            INTEGER PRIMARY KEY,
    guid          TEXT NOT NULL UNIQUE,
    url           TEXT NOT NULL,
    title         TEXT NOT NULL,
    summary       TEXT NOT NULL DEFAULT '',
    content_html  TEXT NOT NULL DEFAULT '',
    author        TEXT NOT NULL DEFAULT '',
    image_url     TEXT,
    language      TEXT NOT NULL,
    status        TEXT NOT NULL DEFAULT 'published' CHECK (status IN ('published', 'draft')),
    published_at  TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    -- sha256 of the imported record (fields and tags): an identical re-import writes nothing.
    fingerprint   TEXT NOT NULL,
    -- when the store first saw the article, and when its stored content last changed.
    created_at    TEXT NOT NULL,
    changed_at    TEXT NOT NULL
);
-- The newest published articles: site feeds, digests, `articles list`.
CREATE INDEX articles_status_published ON articles (status, published_at DESC, id DESC);

CREATE TABLE tags (
    id    INTEGER PRIMARY KEY,
    slug  TEXT NOT NULL UNIQUE,
    name  TEXT NOT NULL
);

CREATE TABLE article_tags (
    article_id  INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    tag_id      INTEGER NOT NULL REFERENCES tags (id),
    position    INTEGER NOT NULL,
    PRIMARY KEY (article_id, tag_id)
) WITHOUT ROWID;
-- The articles of one tag: tag feeds, tag selections.
CREATE INDEX article_tags_tag ON article_tags (tag_id, article_id);

-- email: one address, one subscriber, whatever the case of its local part (Jean.Martin@ and
-- jean.martin@ are merged); the column compares without case, so its one unique index also
-- serves every look-up by address.
-- status: comparisons, not `status IN (…)`: SQLite builds a temporary table for a CHECK with an
-- IN list of more than two values on every row it writes, which slows a bulk import a lot.
CREATE TABLE subscribers (
    id              INTEGER PRIMARY KEY,
    email           TEXT NOT NULL UNIQUE COLLATE NOCASE,
    name            TEXT NOT NULL DEFAULT '',
    locale          TEXT NOT NULL DEFAULT 'fr',
    status          TEXT NOT NULL DEFAULT 'active'
                    CHECK (status = 'active' OR status = 'pending' OR status = 'unsubscribed'
                           OR status = 'bounced' OR status = 'complained'),
    consent_source  TEXT NOT NULL DEFAULT '',
    consent_at      TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX subscribers_status ON subscribers (status, id);

CREATE TABLE subscriber_interests (
    subscriber_id  INTEGER NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    tag_id         INTEGER NOT NULL REFERENCES tags (id),
    PRIMARY KEY (subscriber_id, tag_id)
) WITHOUT ROWID;
CREATE INDEX subscriber_interests_tag ON subscriber_interests (tag_id, subscriber_id);

-- Free-form CSV columns (bassin, role…), one row per value, indexed for segment filters.
CREATE TABLE subscriber_attributes (
    subscriber_id  INTEGER NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    value          TEXT NOT NULL,
    PRIMARY KEY (subscriber_id, name)
) WITHOUT ROWID;
CREATE INDEX subscriber_attributes_value ON subscriber_attributes (name, value, subscriber_id);

-- One row per publishing cycle or command run (run-once, feeds build, send…).
CREATE TABLE runs (
    id           INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL,
    started_at   TEXT NOT NULL,
    finished_at  TEXT,
    status       TEXT NOT NULL CHECK (status IN ('running', 'ok', 'failed')),
    summary      TEXT NOT NULL DEFAULT '',
    error        TEXT
);
CREATE INDEX runs_started ON runs (started_at DESC);
