-- Compiled digests. One row per distinct content of one newsletter run; every recipient
-- of that content shares it. html/text hold the placeholders of publisher.placeholders.

CREATE TABLE editions (
    id             INTEGER PRIMARY KEY,
    newsletter     TEXT NOT NULL,        -- [newsletters.<slug>]
    segment        TEXT NOT NULL,        -- [segments.<name>]
    content_key    TEXT NOT NULL,        -- sha256 of what makes the content: equal keys, equal content
    subject        TEXT NOT NULL,
    preheader      TEXT NOT NULL DEFAULT '',
    html           TEXT NOT NULL,
    text           TEXT NOT NULL,
    article_ids    TEXT NOT NULL,        -- JSON list of article ids, in digest order
    status         TEXT NOT NULL DEFAULT 'ready'
                   CHECK (status IN ('ready', 'sending', 'paused', 'sent', 'failed')),
    status_reason  TEXT,
    created_at     TEXT NOT NULL,
    finished_at    TEXT
);
CREATE INDEX editions_newsletter ON editions (newsletter, segment, created_at);
CREATE INDEX editions_status ON editions (status, id);
