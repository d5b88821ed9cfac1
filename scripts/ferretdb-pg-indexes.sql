-- Makes FerretDB 1.24's PostgreSQL backend use indexes for equality filters, as MongoDB does.
-- Applied by scripts/with-services.sh to FerretDB's database (idempotent); see
-- docs/architecture.md "FerretDB 1.24 as the test server: what it costs" for what it fixes;
-- the timings are in bench/RESULTS.md ("Measurements outside the benchmarks").
--
-- FerretDB pushes an equality filter down as `_jsonb->$1 @> $2` (jsonb containment), but the
-- indexes it creates are btree on `(_jsonb->'field')`, which cannot serve `@>`: every find,
-- update and delete scans the whole table. A GIN index on the
-- same expressions serves `@>`. So every btree index FerretDB creates on top-level fields gets a
-- GIN twin on the same fields, made by an event trigger as the index is created. GIN twins never change
-- a result (PostgreSQL runs the same query, only faster); FerretDB does not know them (its
-- listIndexes reads its own metadata) and they go with the table.
-- The key is a parameter ($1), so a generic plan cannot match the index expression: the
-- database plans every execution for its values (plan_cache_mode, set by with-services.sh).

CREATE OR REPLACE FUNCTION hl_gin_twins_for(idx oid) RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
  def text := pg_get_indexdef(idx);
  tbl oid;
  sch text;
  rel text;
  m text[];
  cols text[] := '{}';
BEGIN
  SELECT i.indrelid INTO tbl FROM pg_index i WHERE i.indexrelid = idx;
  SELECT n.nspname, c.relname INTO sch, rel FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = tbl;
  -- FerretDB's own indexes only: btree, outside the system schemas and its metadata tables.
  IF def NOT LIKE '% USING btree %' OR rel LIKE '\_ferretdb%' OR sch IN ('pg_catalog', 'information_schema', 'pg_toast') THEN
    RETURN;
  END IF;
  FOR m IN SELECT regexp_matches(def, $re$\(_jsonb -> '([^']+)'::text\)$re$, 'g') LOOP
    cols := cols || format('(_jsonb -> %L)', m[1]);
  END LOOP;
  IF cardinality(cols) = 0 THEN
    RETURN;
  END IF;
  -- One GIN over all the index's fields, not one per field: GIN intersects the keys of one scan
  -- starting from the rarest ("fast scan"), where a BitmapAnd of per-field twins read the whole
  -- posting list of a value every document shares (channel = 'telegram').
  -- fastupdate off: a lookup must not scan a pending list of recent inserts.
  EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %I.%I USING gin (%s) WITH (fastupdate = off)',
    'hlgin_' || left(md5(sch || '.' || rel || '.' || array_to_string(cols, ',')), 24), sch, rel, array_to_string(cols, ', '));
END
$fn$;

CREATE OR REPLACE FUNCTION hl_gin_twins() RETURNS event_trigger LANGUAGE plpgsql AS $fn$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT objid FROM pg_event_trigger_ddl_commands() WHERE command_tag = 'CREATE INDEX' AND object_type = 'index' LOOP
    PERFORM hl_gin_twins_for(r.objid);
  END LOOP;
END
$fn$;

DROP EVENT TRIGGER IF EXISTS hl_gin_twins;
CREATE EVENT TRIGGER hl_gin_twins ON ddl_command_end WHEN TAG IN ('CREATE INDEX') EXECUTE FUNCTION hl_gin_twins();

-- Tables FerretDB made before this script ran.
DO $do$
DECLARE
  r record;
BEGIN
  -- hl_gin_twins_for leaves out what is not FerretDB's.
  FOR r IN SELECT indexrelid FROM pg_index LOOP
    PERFORM hl_gin_twins_for(r.indexrelid);
  END LOOP;
END
$do$;
