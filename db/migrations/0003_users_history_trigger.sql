-- users_history is kept by the database itself (SPEC §8), so every writer of
-- `users`, this project's or not, records its versions.

-- A version starts at the row's updated_at. An update that leaves updated_at
-- as it was gets the time of the change; one that moves it backwards would
-- give the history a negative interval and is refused.
CREATE FUNCTION users_stamp_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW IS NOT DISTINCT FROM OLD THEN
    RETURN NEW;
  END IF;
  IF NEW.updated_at IS NOT DISTINCT FROM OLD.updated_at THEN
    NEW.updated_at := clock_timestamp();
  ELSIF NEW.updated_at IS NULL OR NEW.updated_at < OLD.updated_at THEN
    RAISE EXCEPTION 'users.updated_at of % must not go back (from % to %)', OLD.user_id, OLD.updated_at, NEW.updated_at
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;
--> statement-breakpoint
CREATE TRIGGER users_stamp_update BEFORE UPDATE ON users
  FOR EACH ROW EXECUTE FUNCTION users_stamp_update();
--> statement-breakpoint
CREATE FUNCTION users_record_history() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  version_from timestamptz;
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    IF TG_OP = 'UPDATE' AND NEW IS NOT DISTINCT FROM OLD THEN
      RETURN NULL;
    END IF;
    version_from := CASE WHEN TG_OP = 'UPDATE' THEN NEW.updated_at ELSE greatest(clock_timestamp(), OLD.updated_at) END;
    UPDATE users_history SET valid_to = version_from WHERE user_id = OLD.user_id AND valid_to IS NULL;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    -- A user inserted again after a delete closes nothing; one inserted with
    -- an id still current (impossible through the primary key) would.
    INSERT INTO users_history (user_id, username, name, email, region, gender, updated_at, valid_from, valid_to)
    VALUES (NEW.user_id, NEW.username, NEW.name, NEW.email, NEW.region, NEW.gender, NEW.updated_at, coalesce(NEW.updated_at, clock_timestamp()), NULL);
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER users_record_history AFTER INSERT OR UPDATE OR DELETE ON users
  FOR EACH ROW EXECUTE FUNCTION users_record_history();
--> statement-breakpoint
-- Users written before the history existed start their history now.
INSERT INTO users_history (user_id, username, name, email, region, gender, updated_at, valid_from, valid_to)
SELECT user_id, username, name, email, region, gender, updated_at, coalesce(updated_at, now()), NULL FROM users;
--> statement-breakpoint
-- "The user as of time t" is a range lookup per user.
CREATE INDEX users_history_current ON users_history (user_id) WHERE valid_to IS NULL;
