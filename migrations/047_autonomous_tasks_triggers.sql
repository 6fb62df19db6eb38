-- 047: triggers that are correct under concurrency and cheap on the write path.
--  * updated_at never moves backwards, even when a transaction that started earlier commits later.
--  * duration_ms is never negative (clock skew between writers) and the duration function only
--    runs when there is something to compute: a row without completed_at skips it entirely.

CREATE OR REPLACE FUNCTION update_autonomous_tasks_updated_at()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = public, pg_temp
AS $$
BEGIN
  NEW.updated_at = greatest(clock_timestamp(), OLD.updated_at);
  RETURN NEW;
END;
$$;

CREATE OR REPLACE FUNCTION calculate_autonomous_task_duration()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = public, pg_temp
AS $$
BEGIN
  IF NEW.executed_at IS NOT NULL AND NEW.completed_at IS NOT NULL THEN
    NEW.duration_ms = greatest(0, round(EXTRACT(EPOCH FROM (NEW.completed_at - NEW.executed_at)) * 1000))::integer;
  ELSE
    NEW.duration_ms = NULL;
  END IF;
  RETURN NEW;
END;
$$;

DROP TRIGGER trigger_calculate_duration ON autonomous_tasks;
CREATE TRIGGER trigger_calculate_duration
  BEFORE INSERT OR UPDATE OF executed_at, completed_at ON autonomous_tasks
  FOR EACH ROW
  WHEN (NEW.completed_at IS NOT NULL)
  EXECUTE FUNCTION calculate_autonomous_task_duration();
