-- Digest planning: what each newsletter audience (newsletter + segment) has already been
-- offered, so an edition holds only articles published since the last successful one.

-- One row per planning of a newsletter for a segment, including the runs that found
-- nothing new (status 'nothing-new'), so `publisher newsletters history` and the admin
-- can show them.
CREATE TABLE digest_plans (
    id               INTEGER PRIMARY KEY,
    newsletter       TEXT NOT NULL,        -- [newsletters.<slug>]
    segment          TEXT NOT NULL,        -- [segments.<name>]
    planned_at       TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('planned', 'nothing-new', 'no-recipients')),
    -- The newest published_at among the articles this plan considered: the next plan of the
    -- same audience only looks at articles published after it. NULL when nothing was new.
    watermark        TEXT,
    candidate_count  INTEGER NOT NULL DEFAULT 0,   -- new articles considered
    edition_count    INTEGER NOT NULL DEFAULT 0,   -- distinct contents compiled
    recipient_count  INTEGER NOT NULL DEFAULT 0
);
-- The audience's watermark (max over its plans) and its history, newest first.
CREATE INDEX digest_plans_audience ON digest_plans (newsletter, segment, watermark);
CREATE INDEX digest_plans_recent ON digest_plans (planned_at DESC, id DESC);

-- Which plan compiled an edition (NULL for editions made otherwise).
ALTER TABLE editions ADD COLUMN plan_id INTEGER REFERENCES digest_plans (id);
CREATE INDEX editions_plan ON editions (plan_id, status);

-- The articles of each edition, in digest order: an article already in a non-failed edition
-- of an audience never goes to that audience again, even if it is edited or re-dated.
CREATE TABLE edition_articles (
    edition_id  INTEGER NOT NULL REFERENCES editions (id) ON DELETE CASCADE,
    article_id  INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    PRIMARY KEY (edition_id, article_id)
) WITHOUT ROWID;
CREATE INDEX edition_articles_article ON edition_articles (article_id, edition_id);
