-- Tag slugs are capped at 80 characters (publisher.slugs.cap_slug, which the store gives SQL as
-- cap_slug): a longer one made every feed build fail with "File name too long". A stored long
-- slug takes its capped form; its feed is forgotten and the next build is a full one, which
-- writes the feed under its new name and removes the old files.
DELETE FROM feeds WHERE tag_id IN (SELECT id FROM tags WHERE length(slug) > 80);

INSERT OR REPLACE INTO feed_state (key, value)
SELECT 'full_build_needed', 'tag slugs capped' WHERE EXISTS (SELECT 1 FROM tags WHERE length(slug) > 80);

UPDATE tags SET slug = cap_slug(slug) WHERE length(slug) > 80;
