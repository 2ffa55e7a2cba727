-- 014: a model snapshot keeps its diagnostics: the back-test the worker
-- runs at each refit on a holdout of the tenant's most recent history
-- (src/worker/backtest_run.c; the JSON of GET /v1/model/diagnostics,
-- docs/diagnostics.md). Applied by `ltvd migrate` (src/store/migrate.c)
-- inside one transaction together with its schema_migrations row: no BEGIN
-- or COMMIT in here. A nullable column without a default: adding it
-- rewrites nothing, and Citus propagates it to every shard of the
-- distributed model_snapshots.

ALTER TABLE model_snapshots ADD COLUMN diagnostics jsonb
    CHECK (diagnostics IS NULL OR jsonb_typeof(diagnostics) = 'object');

COMMENT ON COLUMN model_snapshots.diagnostics IS
    'The back-test of the refit, {"backtest": <back-test JSON> | null, "reason": text | null} (reason says why there is none); set once by the refit after the snapshot is saved, NULL until then and for snapshots from before migration 014.';
