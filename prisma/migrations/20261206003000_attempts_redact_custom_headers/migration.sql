-- Attempt logs keep the names of an endpoint's custom headers, never their values (receiver credentials, issue #8
-- finding 3). Rows written before: every header Tern itself sets is kept; any other value is redacted.
UPDATE attempts SET request_headers = (
  SELECT jsonb_object_agg(k, CASE WHEN k IN ('content-type', 'user-agent', 'webhook-id', 'webhook-timestamp',
                                             'webhook-signature') THEN v ELSE '"[redacted]"'::jsonb END)
  FROM jsonb_each(request_headers) AS e(k, v)
)
WHERE request_headers - ARRAY['content-type', 'user-agent', 'webhook-id', 'webhook-timestamp',
                              'webhook-signature'] <> '{}'::jsonb;
