-- 003: API keys (issue 4). A key is a bearer token "ltvd_<key_id>_<secret>"
-- shown once by `ltvd key create`; only its SHA-256 is stored, next to the
-- public key_id it is looked up by (src/auth/). Applied by `ltvd migrate`
-- (src/store/migrate.c) inside one transaction together with its
-- schema_migrations row: no BEGIN or COMMIT in here.

CREATE TABLE api_keys (
    key_id       text PRIMARY KEY CHECK (key_id ~ '^[0-9a-f]{12}$'),
    name         text NOT NULL DEFAULT '',
    token_sha256 bytea NOT NULL CHECK (octet_length(token_sha256) = 32),
    scopes       text[] NOT NULL
                 CHECK (cardinality(scopes) >= 1 AND scopes <@ ARRAY['ingest', 'read', 'admin']),
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz
);
COMMENT ON TABLE api_keys IS
    'API keys of the HTTP service: never the token itself, only its SHA-256. Running servers reload the keys not revoked every few seconds.';
COMMENT ON COLUMN api_keys.key_id IS 'Public part of the token (12 hex digits after "ltvd_"), shown by ltvd key list and used for the lookup.';
COMMENT ON COLUMN api_keys.token_sha256 IS 'SHA-256 of the whole token; the token holds 256 random bits, so a fast hash is enough (no password KDF).';
COMMENT ON COLUMN api_keys.scopes IS 'What the key may do: ingest (POST /v1/transactions), read (GET /v1/..., a private /metrics), admin (POST /v1/model/refit, a private /metrics).';
COMMENT ON COLUMN api_keys.revoked_at IS 'When ltvd key revoke ran; NULL while the key is valid.';
COMMENT ON INDEX api_keys_pkey IS 'Lookup of a presented token by its key_id.';
