-- 007: a model snapshot records the settings it was fitted under, the
-- customers Gamma-Gamma left out, and why its model is not the configured
-- one. Applied by `ltvd migrate` (src/store/migrate.c) inside one
-- transaction together with its schema_migrations row: no BEGIN or COMMIT
-- in here.
--
-- Why: a snapshot fitted under another LTVD_MODEL, LTVD_PERIOD or
-- LTVD_AS_OF means something else (its parameters are in another time unit,
-- or for another model, or describe another day). The service serves only a
-- snapshot whose settings equal the running ones and refits otherwise; rows
-- from before this migration have no settings (NULL) and are never served.

ALTER TABLE model_snapshots
    ADD COLUMN settings_model text,
    ADD COLUMN settings_as_of date,
    ADD COLUMN spend_n_zero bigint CHECK (spend_n_zero >= 0),
    ADD COLUMN fallback text;

COMMENT ON COLUMN model_snapshots.settings_model IS
    'The configured purchase model (LTVD_MODEL) the refit ran under; model may be its limit (bggeo for bgnbd, see fallback). NULL: from before settings were recorded, never served.';
COMMENT ON COLUMN model_snapshots.settings_as_of IS
    'The configured as_of (LTVD_AS_OF) as a UTC day, NULL when as_of followed the clock (the day the fit ran to is as_of).';
COMMENT ON COLUMN model_snapshots.period IS
    'The configured time unit (LTVD_PERIOD) the parameters are in: part of the settings a snapshot is served under.';
COMMENT ON COLUMN model_snapshots.spend_n_zero IS
    'Customers with repeat purchases left out of the Gamma-Gamma fit because their repeat purchases total zero.';
COMMENT ON COLUMN model_snapshots.fallback IS
    'How the snapshot differs from the configured model and why: model is not settings_model (BG/NBD not identified, its homogeneous drop-out limit bggeo fitted instead), or no spend model (Gamma-Gamma refused, e.g. q <= 1, while no snapshot with spend was served); NULL when it does not.';
