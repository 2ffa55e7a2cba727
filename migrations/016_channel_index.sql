-- Spend for a channel is accepted once the channel is known to the tenant
-- (PUT /v1/acquisition/spend, docs/acquisition.md): a customer of the tenant
-- has it as acquisition_channel, the tenant has spend for it, or its
-- acquisition_channels setting lists it. This index answers the first of
-- these without reading every customer of the tenant.
CREATE INDEX customer_attributes_channel ON customer_attributes (tenant_id, acquisition_channel)
    WHERE acquisition_channel IS NOT NULL;
COMMENT ON INDEX customer_attributes_channel IS
    'Whether some customer of a tenant has an acquisition channel (the spend check).';
