-- Issue #12 part 3: payload filters. An endpoint's filter is kept as the JSON text the application sent (returned
-- as sent); NULL = no filter. Matching happens in the API (libs/delivery-rules/src/payload-filter.ts), on filters
-- it caches; the fan-out statement checks that the filters it was given are still the endpoints' filters (by
-- their SHA-256) and calls tern_filter_changed otherwise, which raises SQLSTATE TF001 and rolls the write back:
-- the API reloads the filters and writes again. ADD COLUMN without a default rewrites no table.
ALTER TABLE "endpoints" ADD COLUMN "filter" TEXT;

CREATE OR REPLACE FUNCTION tern_filter_changed(endpoint_id text) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  RAISE EXCEPTION 'the filter of endpoint % changed since it was read', endpoint_id USING ERRCODE = 'TF001';
END;
$$;
