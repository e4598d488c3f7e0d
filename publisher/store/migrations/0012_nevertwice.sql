-- Never twice: for each reader and newsletter, the plan that last served them. The reader's
-- watermark is that plan's (digest_plans.watermark): this newsletter never sends them an
-- article published at or before it again, whatever segment, cadence or interests come next.
-- One row per reader and newsletter; after an ordinary send every reader of the segment points
-- to the same plan, so readers with one watermark form one group.
CREATE TABLE reader_watermarks (
    subscriber_id  INTEGER NOT NULL,   -- subscribers.id (rows go with it: trigger below)
    newsletter     TEXT NOT NULL,      -- [newsletters.<slug>]
    -- digest_plans.id (no foreign key: checking it on each of a million rows doubles the cost
    -- of a send's update; only the planner writes it)
    plan_id        INTEGER NOT NULL,
    PRIMARY KEY (subscriber_id, newsletter)
) WITHOUT ROWID;
-- The distinct watermarks of a newsletter (one query per plan).
CREATE INDEX reader_watermarks_plan ON reader_watermarks (newsletter, plan_id);

CREATE TRIGGER subscribers_delete_watermarks AFTER DELETE ON subscribers
BEGIN
    DELETE FROM reader_watermarks WHERE subscriber_id = old.id;
END;

-- Readers already in the ledger keep what they were sent: each starts at the plan with the
-- newest watermark among the editions (not failed) it was written into for that newsletter.
INSERT INTO reader_watermarks (subscriber_id, newsletter, plan_id)
SELECT subscriber_id, newsletter, plan_id FROM (
    SELECT d.subscriber_id, e.newsletter, p.id AS plan_id, max(p.watermark)
    FROM deliveries d
    JOIN editions e ON e.id = d.edition_id
    JOIN digest_plans p ON p.id = e.plan_id
    WHERE e.status != 'failed' AND p.watermark IS NOT NULL
    GROUP BY d.subscriber_id, e.newsletter
);
