-- Change capture through the transactional outbox (SPEC §2.4): the row and
-- its outbox record commit together or not at all, and NOTIFY (delivered at
-- commit) wakes the capture worker at once, so nothing polls.

CREATE FUNCTION members_capture() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- The id as text: ids are strings in every topic contract.
  INSERT INTO cdc_outbox (topic, key, payload)
  VALUES ('members.new', NEW.id::text, jsonb_set(to_jsonb(NEW), '{id}', to_jsonb(NEW.id::text)));
  PERFORM pg_notify('cdc_outbox', '');
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER members_capture AFTER INSERT ON members
  FOR EACH ROW EXECUTE FUNCTION members_capture();
