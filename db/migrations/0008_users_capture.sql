-- users -> users.cdc through the same transactional outbox as members
-- (SPEC §2.5, §2.4): every insert, update and delete of a user writes the row
-- as it now is (null when deleted) to cdc_outbox in the writer's transaction,
-- and the capture worker publishes it, keyed by user_id, to the compacted
-- topic. TRUNCATE fires no row trigger and is not captured.

CREATE FUNCTION users_capture() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND NEW IS NOT DISTINCT FROM OLD THEN
    RETURN NULL;
  END IF;
  -- A deleted user, or the old id of a user whose id changed: a tombstone.
  IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND NEW.user_id IS DISTINCT FROM OLD.user_id) THEN
    INSERT INTO cdc_outbox (topic, key, payload) VALUES ('users.cdc', OLD.user_id, NULL);
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    INSERT INTO cdc_outbox (topic, key, payload) VALUES ('users.cdc', NEW.user_id, to_jsonb(NEW));
  END IF;
  PERFORM pg_notify('cdc_outbox', '');
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER users_capture AFTER INSERT OR UPDATE OR DELETE ON users
  FOR EACH ROW EXECUTE FUNCTION users_capture();
--> statement-breakpoint
-- Users written before the capture existed: one record each, so the topic holds the whole table.
INSERT INTO cdc_outbox (topic, key, payload) SELECT 'users.cdc', user_id, to_jsonb(u) FROM users u ORDER BY user_id;
