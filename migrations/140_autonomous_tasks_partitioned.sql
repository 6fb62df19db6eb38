-- 140: autonomous_tasks becomes a table partitioned by range of created_at (docs/partitioning.md).
--
-- Partition key. Every write of one attempt must reach the same partition: an INSERT ... ON
-- CONFLICT looks for its conflict only in the partition its new row is routed to, and a unique
-- index of a partitioned table must contain the partition key. executed_at moves (a pending row's
-- queue time is replaced by the start time), and created_at defaulted to each INSERT's own now(),
-- so neither was the same for every writer. From here on created_at is the time the job was
-- created (BullMQ's job.timestamp), which every writer of the attempt knows and sends: the
-- producer (it hands the same instant to BullMQ), the worker, the reconciler and a cancel. It
-- never changes, so it is the partition key. Rows written by hand still default to now().
--
-- Keys. The primary key becomes (id, created_at) and the job identity's unique index
-- (queue_name, job_id, attempt, created_at); the audit writer's ON CONFLICT names those four
-- columns. Within one attempt created_at is one value, so the four columns are unique exactly
-- when the three are.
--
-- Conversion. The existing table is kept, rows and ids untouched, and becomes the partition
-- autonomous_tasks_legacy for created_at below a cutoff one to two intervals ahead; newer rows go
-- to new partitions, rows below no partition's range to autonomous_tasks_default. The slow parts
-- (a CHECK constraint on created_at, validated, and the two new unique indexes) are built by the
-- migration runner beforehand without blocking writers (packages/db/src/partitioning.ts); what
-- remains here takes the table's lock for milliseconds: no row is read or copied.
--
-- Everything the table had is carried over from the catalog rather than listed here again:
-- columns, defaults, NOT NULL, CHECK constraints, the foreign key, indexes (each parent index
-- adopts the legacy table's identical index), both triggers, row level security and its
-- policies, grants and comments. get_autonomous_task_summary names the table, not its oid.
--
-- Interval: day (default) or month, from the setting fleet.audit_partition_interval when set
-- (ALTER DATABASE ... SET fleet.audit_partition_interval = 'month'), and later from
-- autonomous_tasks_partitioning.unit.

CREATE TABLE autonomous_tasks_partitioning (
  singleton     boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  -- Size of new partitions; a change applies from the next partition created.
  unit          text NOT NULL CHECK (unit IN ('day', 'month')),
  -- How many intervals ahead of now partitions exist.
  premake       integer NOT NULL DEFAULT 7 CHECK (premake BETWEEN 2 AND 400),
  -- Upper bound of autonomous_tasks_legacy (the table as it was before this migration).
  legacy_until  timestamptz NOT NULL
);
COMMENT ON TABLE autonomous_tasks_partitioning IS
  'How autonomous_tasks is partitioned: interval of new partitions and how many exist ahead.';

-- The bounds of every partition of autonomous_tasks; lower_bound NULL is MINVALUE.
CREATE FUNCTION autonomous_tasks_partitions()
RETURNS TABLE (partition_name text, lower_bound timestamptz, upper_bound timestamptz, is_default boolean)
LANGUAGE sql
STABLE
SET search_path = public, pg_temp
AS $$
  SELECT c.relname::text,
         CASE WHEN b.expr LIKE 'FOR VALUES FROM (MINVALUE)%' THEN NULL
              ELSE (regexp_match(b.expr, 'FROM \(''([^'']+)''\)'))[1]::timestamptz END,
         (regexp_match(b.expr, 'TO \(''([^'']+)''\)'))[1]::timestamptz,
         b.expr = 'DEFAULT'
  FROM pg_inherits i
  JOIN pg_class c ON c.oid = i.inhrelid
  CROSS JOIN LATERAL (SELECT pg_get_expr(c.relpartbound, c.oid) AS expr) b
  WHERE i.inhparent = 'public.autonomous_tasks'::regclass
  ORDER BY 3 NULLS LAST
$$;

-- Creates the partitions missing in [p_from, p_until): aligned intervals (UTC), each piece
-- starting where an existing partition ends. Rows of the range that had landed in the default
-- partition are moved into the new one. Each partition is created as a plain table and then
-- attached, which locks autonomous_tasks in SHARE UPDATE EXCLUSIVE mode only: writers go on.
-- Returns the number of partitions created.
CREATE FUNCTION autonomous_tasks_create_partitions(
  p_until timestamptz DEFAULT NULL,
  p_from  timestamptz DEFAULT NULL
)
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
  cfg      autonomous_tasks_partitioning;
  step     interval;
  s        timestamptz;
  e        timestamptz;
  piece    timestamptz;
  covered  timestamptz;
  name     text;
  created  integer := 0;
BEGIN
  SELECT * INTO cfg FROM autonomous_tasks_partitioning;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'autonomous_tasks_partitioning has no row: run migrate';
  END IF;
  step := CASE cfg.unit WHEN 'day' THEN interval '1 day' ELSE interval '1 month' END;
  p_until := coalesce(p_until, now() + cfg.premake * step);
  s := date_trunc(cfg.unit, coalesce(p_from, (
    SELECT max(upper_bound) FROM autonomous_tasks_partitions() WHERE NOT is_default
  ), now()), 'UTC');
  IF p_from IS NULL AND s < date_trunc(cfg.unit, now(), 'UTC') THEN
    s := date_trunc(cfg.unit, now(), 'UTC');
  END IF;
  -- Serialises concurrent callers (the scheduler on several replicas, migrate).
  PERFORM pg_advisory_xact_lock(hashtext('autonomous_tasks_create_partitions'));

  WHILE s < p_until LOOP
    e := s + step;
    piece := s;
    -- Skip past partitions that already cover the start of this interval.
    LOOP
      SELECT max(upper_bound) INTO covered FROM autonomous_tasks_partitions()
      WHERE NOT is_default AND coalesce(lower_bound, '-infinity') <= piece AND upper_bound > piece;
      EXIT WHEN covered IS NULL;
      piece := covered;
    END LOOP;
    IF piece < e THEN
      -- End where the next existing partition starts, if it starts inside this interval.
      SELECT least(e, min(lower_bound)) INTO e FROM autonomous_tasks_partitions()
      WHERE NOT is_default AND lower_bound > piece AND lower_bound < e;
      name := 'autonomous_tasks_p' || to_char(piece AT TIME ZONE 'UTC',
        CASE WHEN cfg.unit = 'month' AND piece = date_trunc('month', piece, 'UTC') THEN 'YYYYMM' ELSE 'YYYYMMDD' END);
      EXECUTE format('CREATE TABLE %I (LIKE autonomous_tasks INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', name);
      EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I CHECK (created_at >= %L AND created_at < %L)',
        name, name || '_range', piece, e);
      IF to_regclass('autonomous_tasks_default') IS NOT NULL THEN
        EXECUTE format(
          'WITH moved AS (DELETE FROM autonomous_tasks_default WHERE created_at >= %L AND created_at < %L RETURNING *)
           INSERT INTO %I SELECT * FROM moved', piece, e, name);
      END IF;
      EXECUTE format('ALTER TABLE autonomous_tasks ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', name, piece, e);
      EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', name, name || '_range');
      -- Reached through autonomous_tasks only, where its policies apply.
      EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', name);
      created := created + 1;
    END IF;
    s := s + step;
  END LOOP;
  RETURN created;
END;
$$;

-- Partitions whose whole range is before p_cutoff and whose rows all executed before it (a row of
-- a long-delayed job can have executed long after its job was created): retention drops these
-- whole. The default partition and the partition holding the cutoff are never listed.
CREATE FUNCTION autonomous_tasks_retirable_partitions(p_cutoff timestamptz)
RETURNS TABLE (partition_name text, upper_bound timestamptz)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
  p record;
  latest timestamptz;
BEGIN
  FOR p IN SELECT * FROM autonomous_tasks_partitions() t WHERE NOT t.is_default AND t.upper_bound <= p_cutoff LOOP
    EXECUTE format('SELECT max(executed_at) FROM %I', p.partition_name) INTO latest;
    IF latest IS NULL OR latest < p_cutoff THEN
      partition_name := p.partition_name;
      upper_bound := p.upper_bound;
      RETURN NEXT;
    END IF;
  END LOOP;
END;
$$;

-- Detaches and drops one retirable partition (data_cleanup, as the agents' role, which does not
-- own the table). Not CONCURRENTLY: Postgres refuses a concurrent detach while a default
-- partition exists, and a function cannot run one anyway. A plain detach holds the table's lock
-- for milliseconds; lock_timeout bounds how long it waits behind running statements (and how
-- long writers queue behind it); on a timeout the next cleanup tries again.
CREATE FUNCTION autonomous_tasks_retire_partition(p_partition text, p_cutoff timestamptz)
RETURNS boolean
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
SET lock_timeout = '2s'
AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM autonomous_tasks_retirable_partitions(p_cutoff) r WHERE r.partition_name = p_partition) THEN
    RETURN false;
  END IF;
  EXECUTE format('ALTER TABLE autonomous_tasks DETACH PARTITION %I', p_partition);
  EXECUTE format('DROP TABLE %I', p_partition);
  RETURN true;
END;
$$;

-- The switch ---------------------------------------------------------------------------------------
DO $$
DECLARE
  unit     text := coalesce(nullif(current_setting('fleet.audit_partition_interval', true), ''), 'day');
  cutoff   timestamptz;
  def      text;
  r        record;
BEGIN
  IF unit NOT IN ('day', 'month') THEN
    RAISE EXCEPTION 'fleet.audit_partition_interval must be day or month, got %', unit;
  END IF;
  LOCK TABLE autonomous_tasks IN ACCESS EXCLUSIVE MODE;

  -- The range check the runner prepared, or one made now (instant on an empty table).
  SELECT pg_get_constraintdef(oid) INTO def FROM pg_constraint
  WHERE conrelid = 'autonomous_tasks'::regclass AND conname = 'autonomous_tasks_partition_range_check' AND convalidated;
  IF def IS NULL THEN
    ALTER TABLE autonomous_tasks DROP CONSTRAINT IF EXISTS autonomous_tasks_partition_range_check;
    cutoff := date_trunc(unit, now(), 'UTC') + 2 * CASE unit WHEN 'day' THEN interval '1 day' ELSE interval '1 month' END;
    EXECUTE format('ALTER TABLE autonomous_tasks ADD CONSTRAINT autonomous_tasks_partition_range_check CHECK (created_at < %L)', cutoff);
  ELSE
    cutoff := (regexp_match(def, '''([^'']+)'''))[1]::timestamptz;
  END IF;
  INSERT INTO autonomous_tasks_partitioning (unit, legacy_until) VALUES (unit, cutoff);

  -- The new keys, on the old table (prepared by the runner, or built now).
  CREATE UNIQUE INDEX IF NOT EXISTS autonomous_tasks_legacy_id_created ON autonomous_tasks (id, created_at);
  CREATE UNIQUE INDEX IF NOT EXISTS autonomous_tasks_legacy_job_attempt
    ON autonomous_tasks (queue_name, job_id, attempt, created_at);
  ALTER TABLE autonomous_tasks DROP CONSTRAINT autonomous_tasks_pkey;
  ALTER TABLE autonomous_tasks ADD CONSTRAINT autonomous_tasks_legacy_pkey PRIMARY KEY USING INDEX autonomous_tasks_legacy_id_created;
  DROP INDEX uq_autonomous_tasks_job_attempt;

  -- The partitioned table: same columns, defaults, NOT NULL and CHECK constraints.
  CREATE TABLE autonomous_tasks_partitioned (LIKE autonomous_tasks INCLUDING DEFAULTS INCLUDING CONSTRAINTS)
    PARTITION BY RANGE (created_at);
  ALTER TABLE autonomous_tasks_partitioned DROP CONSTRAINT autonomous_tasks_partition_range_check;
  ALTER TABLE autonomous_tasks_partitioned ADD CONSTRAINT autonomous_tasks_pkey PRIMARY KEY (id, created_at);
  CREATE UNIQUE INDEX uq_autonomous_tasks_job_attempt ON autonomous_tasks_partitioned (queue_name, job_id, attempt, created_at);

  -- Foreign keys (the legacy table's identical key is adopted at attach, without a re-check).
  FOR r IN SELECT conname, pg_get_constraintdef(oid) AS d FROM pg_constraint
           WHERE conrelid = 'autonomous_tasks'::regclass AND contype = 'f' LOOP
    EXECUTE format('ALTER TABLE autonomous_tasks_partitioned ADD CONSTRAINT %I %s', r.conname, r.d);
  END LOOP;

  -- Secondary indexes: same definitions; the legacy copies are renamed below.
  FOR r IN SELECT ic.relname AS name, pg_get_indexdef(ic.oid) AS d FROM pg_index x
           JOIN pg_class ic ON ic.oid = x.indexrelid
           WHERE x.indrelid = 'autonomous_tasks'::regclass AND NOT x.indisunique LOOP
    EXECUTE format('CREATE INDEX %I ON autonomous_tasks_partitioned %s', 'new_' || r.name, substring(r.d FROM ' USING .*$'));
  END LOOP;

  -- Triggers move to the parent (they apply to every partition).
  FOR r IN SELECT tgname, pg_get_triggerdef(oid) AS d FROM pg_trigger
           WHERE tgrelid = 'autonomous_tasks'::regclass AND NOT tgisinternal LOOP
    EXECUTE format('DROP TRIGGER %I ON autonomous_tasks', r.tgname);
    EXECUTE regexp_replace(r.d, ' ON \S+ ', ' ON public.autonomous_tasks_partitioned ');
  END LOOP;

  -- Row level security and policies (the legacy table keeps its own copies).
  ALTER TABLE autonomous_tasks_partitioned ENABLE ROW LEVEL SECURITY;
  IF (SELECT relforcerowsecurity FROM pg_class WHERE oid = 'autonomous_tasks'::regclass) THEN
    ALTER TABLE autonomous_tasks_partitioned FORCE ROW LEVEL SECURITY;
  END IF;
  FOR r IN SELECT * FROM pg_policies WHERE schemaname = 'public' AND tablename = 'autonomous_tasks' LOOP
    EXECUTE format('CREATE POLICY %I ON autonomous_tasks_partitioned AS %s FOR %s TO %s %s %s',
      r.policyname, r.permissive, r.cmd,
      (SELECT string_agg(CASE WHEN g = 'public' THEN 'PUBLIC' ELSE quote_ident(g) END, ', ') FROM unnest(r.roles) g),
      CASE WHEN r.qual IS NOT NULL THEN 'USING (' || r.qual || ')' ELSE '' END,
      CASE WHEN r.with_check IS NOT NULL THEN 'WITH CHECK (' || r.with_check || ')' ELSE '' END);
  END LOOP;

  -- Grants and comments.
  FOR r IN SELECT a.grantee, a.privilege_type FROM pg_class c, aclexplode(c.relacl) a
           WHERE c.oid = 'autonomous_tasks'::regclass AND a.grantee <> c.relowner LOOP
    EXECUTE format('GRANT %s ON autonomous_tasks_partitioned TO %s', r.privilege_type,
      CASE WHEN r.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(r.grantee::regrole::name) END);
  END LOOP;
  EXECUTE format('COMMENT ON TABLE autonomous_tasks_partitioned IS %L', obj_description('autonomous_tasks'::regclass, 'pg_class'));
  FOR r IN SELECT a.attname, d.description FROM pg_description d
           JOIN pg_attribute a ON a.attrelid = d.objoid AND a.attnum = d.objsubid
           WHERE d.objoid = 'autonomous_tasks'::regclass AND d.objsubid > 0 LOOP
    EXECUTE format('COMMENT ON COLUMN autonomous_tasks_partitioned.%I IS %L', r.attname, r.description);
  END LOOP;

  -- Swap names and attach: the CHECK constraint proves the range, so nothing is scanned.
  ALTER TABLE autonomous_tasks RENAME TO autonomous_tasks_legacy;
  ALTER TABLE autonomous_tasks_partitioned RENAME TO autonomous_tasks;
  EXECUTE format('ALTER TABLE autonomous_tasks ATTACH PARTITION autonomous_tasks_legacy FOR VALUES FROM (MINVALUE) TO (%L)', cutoff);
  ALTER TABLE autonomous_tasks_legacy DROP CONSTRAINT autonomous_tasks_partition_range_check;
  ALTER INDEX autonomous_tasks_legacy_job_attempt RENAME TO uq_autonomous_tasks_legacy_job_attempt;
  FOR r IN SELECT ic.relname AS name FROM pg_index x JOIN pg_class ic ON ic.oid = x.indexrelid
           WHERE x.indrelid = 'autonomous_tasks'::regclass AND ic.relname LIKE 'new\_%' LOOP
    EXECUTE format('ALTER INDEX %I RENAME TO %I', substring(r.name FROM 5), left('legacy_' || substring(r.name FROM 5), 63));
    EXECUTE format('ALTER INDEX %I RENAME TO %I', r.name, substring(r.name FROM 5));
  END LOOP;

  CREATE TABLE autonomous_tasks_default PARTITION OF autonomous_tasks DEFAULT;
  ALTER TABLE autonomous_tasks_default ENABLE ROW LEVEL SECURITY;
END $$;

-- What the health check reports: rows caught by the default partition (counted up to 1,000) and
-- how far ahead partitions exist.
CREATE FUNCTION autonomous_tasks_partition_health()
RETURNS TABLE (default_rows bigint, covered_until timestamptz, unit text)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
  SELECT (SELECT count(*) FROM (SELECT 1 FROM autonomous_tasks_default LIMIT 1000) d),
         (SELECT max(upper_bound) FROM autonomous_tasks_partitions() WHERE NOT is_default),
         (SELECT unit FROM autonomous_tasks_partitioning)
$$;

SELECT autonomous_tasks_create_partitions();

REVOKE ALL ON FUNCTION autonomous_tasks_create_partitions(timestamptz, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION autonomous_tasks_retirable_partitions(timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION autonomous_tasks_retire_partition(text, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION autonomous_tasks_partition_health() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION autonomous_tasks_partition_health() TO fleet_agent, service_role;
GRANT EXECUTE ON FUNCTION autonomous_tasks_create_partitions(timestamptz, timestamptz) TO fleet_agent;
GRANT EXECUTE ON FUNCTION autonomous_tasks_retirable_partitions(timestamptz) TO fleet_agent;
GRANT EXECUTE ON FUNCTION autonomous_tasks_retire_partition(text, timestamptz) TO fleet_agent;
GRANT SELECT ON autonomous_tasks_partitioning TO fleet_agent;
