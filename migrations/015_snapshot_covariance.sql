-- 015: a model snapshot keeps the covariance of its fitted parameters, from
-- which the service computes each customer's 90% intervals (p_alive,
-- expected purchases, predicted LTV: src/model/intervals.c, docs/intervals.md).
-- Applied by `ltvd migrate` (src/store/migrate.c) inside one transaction
-- together with its schema_migrations row: no BEGIN or COMMIT in here.
--
-- Why a column and not a recomputation: the covariance is the inverse of
-- the negated Hessian of the log-likelihood at the optimum, which only the
-- fit has (the standard errors already stored are its diagonal's square
-- roots). Written in the saving transaction by the fitting process (a value,
-- by tenant_id and id: a statement Citus routes to one shard); rows from
-- before this migration, and fits whose Hessian was not negative definite,
-- have NULL, and their customers' intervals are null.

ALTER TABLE model_snapshots ADD COLUMN covariance jsonb;

COMMENT ON COLUMN model_snapshots.covariance IS
    'Asymptotic covariance of the fitted parameters (natural scale, the inverse of the negated Hessian of the log-likelihood): {"purchase": {"model", "params": [names], "matrix": [[...]]}, "spend": {...} | null}, matrices in the order of params. The purchase and spend fits are independent (block-diagonal). NULL: not available (before migration 015, or no negative-definite Hessian); intervals are then null.';
