-- Figures of each edition, aggregate only (docs/figures.md): how many of its messages had each
-- outcome the Event Webhook reports, and how many clicks each of its articles had. No column
-- names a subscriber, by design. measure is a stable key (delivered, bounced_hard,
-- dropped.invalid, clicks…); article_id is 0 for a figure of the whole edition.
CREATE TABLE edition_figures (
    edition_id  INTEGER NOT NULL REFERENCES editions (id) ON DELETE CASCADE,
    measure     TEXT NOT NULL,
    article_id  INTEGER NOT NULL DEFAULT 0,
    count       INTEGER NOT NULL,
    PRIMARY KEY (edition_id, measure, article_id)
) WITHOUT ROWID;
