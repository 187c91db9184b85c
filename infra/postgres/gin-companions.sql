-- Applied by scripts/postgres.sh on every start (idempotent), as the superuser.
--
-- Why: FerretDB 1.24 on PostgreSQL turns an equality filter into `_jsonb -> 'f' @> '"v"'`, but
-- the indexes it creates for createIndexes (and for _id) are btree indexes on `(_jsonb -> 'f')`,
-- which cannot answer `@>`: every find, update, delete and count with a filter, even one on
-- _id, is a sequential scan of the collection's table. A GIN index (jsonb_path_ops) on the same
-- expression answers `@>`. This event trigger gives every btree index FerretDB creates in a
-- collection table one GIN companion per key expression, so the indexes the services declare
-- through the store interface (and the _id index) are the ones PostgreSQL uses, without any
-- service knowing it runs on PostgreSQL. Dropping the collection drops the companions with it.
CREATE OR REPLACE FUNCTION public.chunfeng_gin_companions() RETURNS event_trigger
LANGUAGE plpgsql AS $$
DECLARE
    cmd record;
    idx record;
    k int;
    expr text;
BEGIN
    FOR cmd IN SELECT * FROM pg_event_trigger_ddl_commands() WHERE command_tag = 'CREATE INDEX' LOOP
        SELECT i.indexrelid, i.indnkeyatts, am.amname, t.relname AS tbl, n.nspname
          INTO idx
          FROM pg_index i
          JOIN pg_class c ON c.oid = i.indexrelid
          JOIN pg_am am ON am.oid = c.relam
          JOIN pg_class t ON t.oid = i.indrelid
          JOIN pg_namespace n ON n.oid = t.relnamespace
         WHERE i.indexrelid = cmd.objid;
        -- our own GIN indexes fire this trigger too; FerretDB's metadata tables need nothing
        CONTINUE WHEN idx IS NULL OR idx.amname <> 'btree' OR idx.tbl LIKE '\_ferretdb\_%';
        FOR k IN 1..idx.indnkeyatts LOOP
            expr := pg_get_indexdef(idx.indexrelid, k, true);
            CONTINUE WHEN expr NOT LIKE '(_jsonb -> %';
            -- one companion per (table, expression): compound indexes share their first field
            EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %I.%I USING gin ((%s) jsonb_path_ops)',
                left(idx.tbl, 40) || '_gin_' || left(md5(expr), 12), idx.nspname, idx.tbl, expr);
        END LOOP;
    END LOOP;
END $$;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_event_trigger WHERE evtname = 'chunfeng_gin_companions') THEN
        CREATE EVENT TRIGGER chunfeng_gin_companions ON ddl_command_end WHEN TAG IN ('CREATE INDEX')
            EXECUTE FUNCTION public.chunfeng_gin_companions();
    END IF;
END $$;
