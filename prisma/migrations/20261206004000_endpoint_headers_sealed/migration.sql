-- Endpoint custom headers (receiver credentials) are sealed at rest with AES-256-GCM under the secrets key ring
-- (issue #8 finding 3). The key is not in the database, so existing rows are sealed by the first process that
-- boots after this migration (EndpointHeadersSealerService), which then empties the plaintext column.
ALTER TABLE endpoints ADD COLUMN headers_sealed bytea, ADD COLUMN headers_key_version integer;
