-- Never twice: up to where each newsletter has served each reader. A reader belongs, per
-- newsletter, to one watermark group; the group points to the plan that last served its
-- readers, and their watermark is that plan's (digest_plans.watermark): this newsletter never
-- sends them an article published at or before it again, whatever segment, cadence or
-- interests come next. After an ordinary send every reader of the segment is in one group, and
-- the next send that serves the whole group moves it by rewriting one row, not a million.
CREATE TABLE watermark_groups (
    id          INTEGER PRIMARY KEY,
    newsletter  TEXT NOT NULL,      -- [newsletters.<slug>]
    plan_id     INTEGER NOT NULL REFERENCES digest_plans (id)
);
CREATE INDEX watermark_groups_newsletter ON watermark_groups (newsletter);

-- One row per reader and newsletter, whatever the number of sends.
CREATE TABLE reader_watermarks (
    subscriber_id  INTEGER NOT NULL,   -- subscribers.id (rows go with it: trigger below)
    newsletter     TEXT NOT NULL,
    -- watermark_groups.id (no foreign key: checking it on each of a million rows doubles the
    -- cost of a first send; only the planner writes it)
    group_id       INTEGER NOT NULL,
    PRIMARY KEY (subscriber_id, newsletter)
) WITHOUT ROWID;
-- No index on group_id: a plan counts each group's readers with one scan (0.1 s a million
-- rows), while an index would double the cost of writing a first send's million rows.

CREATE TRIGGER subscribers_delete_watermarks AFTER DELETE ON subscribers
BEGIN
    DELETE FROM reader_watermarks WHERE subscriber_id = old.id;
END;

-- Readers already in the ledger keep what they were sent: each starts at the plan with the
-- newest watermark among the editions (not failed) it was written into for that newsletter;
-- one group per such plan, numbered as the plan.
INSERT INTO reader_watermarks (subscriber_id, newsletter, group_id)
SELECT subscriber_id, newsletter, plan_id FROM (
    SELECT d.subscriber_id, e.newsletter, p.id AS plan_id, max(p.watermark)
    FROM deliveries d
    JOIN editions e ON e.id = d.edition_id
    JOIN digest_plans p ON p.id = e.plan_id
    WHERE e.status != 'failed' AND p.watermark IS NOT NULL
    GROUP BY d.subscriber_id, e.newsletter
);
INSERT INTO watermark_groups (id, newsletter, plan_id)
SELECT DISTINCT group_id, newsletter, group_id FROM reader_watermarks;
