import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { REDACTED_HEADER_VALUE, redactHeaderValues } from './header-redaction';

describe('redactHeaderValues', () => {
  it('keeps every name and no value', () => {
    const out = redactHeaderValues({ authorization: 'Bearer s3cret', 'x-tenant': 'acme' });
    assert.deepEqual(out, { authorization: REDACTED_HEADER_VALUE, 'x-tenant': REDACTED_HEADER_VALUE });
    assert.doesNotMatch(JSON.stringify(out), /s3cret|acme/);
    assert.deepEqual(redactHeaderValues({}), {});
  });
});
