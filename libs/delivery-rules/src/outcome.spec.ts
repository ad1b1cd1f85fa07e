import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyAttempt, DELIVERY_ERROR_CLASSES, DeliveryErrorClass, parseRetryAfter } from './outcome';

const now = new Date('2026-11-25T12:00:00Z');

describe('classifyAttempt: status codes', () => {
  for (const statusCode of [200, 201, 202, 204, 299]) {
    it(`${statusCode} succeeded`, () => {
      assert.deepEqual(classifyAttempt({ statusCode, now }), {
        outcome: 'succeeded',
        reason: `HTTP ${statusCode}`,
        disableEndpoint: false,
      });
    });
  }

  for (const statusCode of [500, 502, 503, 504, 599, 408, 429]) {
    it(`${statusCode} retries`, () => {
      const v = classifyAttempt({ statusCode, now });
      assert.equal(v.outcome, 'retry');
      assert.equal(v.disableEndpoint, false);
      assert.equal(v.retryAfterMs, undefined);
    });
  }

  for (const statusCode of [300, 301, 302, 303, 307, 308]) {
    it(`${statusCode} failed: redirects are not followed`, () => {
      const v = classifyAttempt({ statusCode, now });
      assert.equal(v.outcome, 'failed');
      assert.match(v.reason, /redirects are not followed/);
      assert.equal(v.disableEndpoint, false);
    });
  }

  for (const statusCode of [400, 401, 403, 404, 405, 409, 413, 422, 451]) {
    it(`${statusCode} failed without disabling`, () => {
      assert.deepEqual(classifyAttempt({ statusCode, now }), {
        outcome: 'failed',
        reason: `HTTP ${statusCode}`,
        disableEndpoint: false,
      });
    });
  }

  it('410 failed and disables the endpoint', () => {
    const v = classifyAttempt({ statusCode: 410, now });
    assert.equal(v.outcome, 'failed');
    assert.equal(v.disableEndpoint, true);
    assert.match(v.reason, /410 Gone/);
  });

  it('out-of-range statuses failed', () => {
    for (const statusCode of [0, 99, 600, 999, 200.5]) {
      assert.equal(classifyAttempt({ statusCode, now }).outcome, 'failed', String(statusCode));
    }
  });
});

describe('classifyAttempt: Retry-After', () => {
  it('parses delta-seconds on 429 and 503', () => {
    for (const statusCode of [429, 503]) {
      const v = classifyAttempt({ statusCode, retryAfter: '120', now });
      assert.equal(v.outcome, 'retry');
      assert.equal(v.retryAfterMs, 120_000);
      assert.match(v.reason, /Retry-After 120000 ms/);
    }
  });

  it('parses an HTTP-date on 503', () => {
    const v = classifyAttempt({ statusCode: 503, retryAfter: 'Wed, 25 Nov 2026 12:05:00 GMT', now });
    assert.equal(v.retryAfterMs, 300_000);
  });

  it('ignores Retry-After on other statuses and when unparseable', () => {
    assert.equal(classifyAttempt({ statusCode: 500, retryAfter: '120', now }).retryAfterMs, undefined);
    assert.equal(classifyAttempt({ statusCode: 200, retryAfter: '120', now }).retryAfterMs, undefined);
    assert.equal(classifyAttempt({ statusCode: 429, retryAfter: 'soon', now }).retryAfterMs, undefined);
    assert.equal(classifyAttempt({ statusCode: 429, retryAfter: null, now }).retryAfterMs, undefined);
    assert.equal('retryAfterMs' in classifyAttempt({ statusCode: 429, now }), false);
  });
});

describe('parseRetryAfter', () => {
  it('handles the three HTTP-date forms as GMT', () => {
    const at = new Date('1994-11-06T08:49:37Z');
    const before = new Date(at.getTime() - 10_000);
    assert.equal(parseRetryAfter('Sun, 06 Nov 1994 08:49:37 GMT', before), 10_000);
    assert.equal(parseRetryAfter('Sunday, 06-Nov-94 08:49:37 GMT', before), 10_000);
    assert.equal(parseRetryAfter('Sun Nov  6 08:49:37 1994', before), 10_000);
  });

  it('gives 0 for a date in the past and handles whitespace and 0', () => {
    assert.equal(parseRetryAfter('Sun, 06 Nov 1994 08:49:37 GMT', now), 0);
    assert.equal(parseRetryAfter(' 5 ', now), 5000);
    assert.equal(parseRetryAfter('0', now), 0);
  });

  it('rejects everything else', () => {
    for (const v of [
      '',
      '-5',
      '1.5',
      '1e3',
      '5 seconds',
      '2026-11-25T12:05:00Z',
      'Sun, 06 Nov 1994 08:49:37',
      'Foo, 06 Nov 1994 08:49:37 GMT',
      'Sun, 99 Nov 1994 08:49:37 GMT',
    ]) {
      assert.equal(parseRetryAfter(v, now), undefined, JSON.stringify(v));
    }
    assert.equal(parseRetryAfter(undefined, now), undefined);
  });

  it('does not overflow on absurd delta-seconds', () => {
    assert.equal(parseRetryAfter('99999999999999999999', now), Number.MAX_SAFE_INTEGER);
  });
});

describe('classifyAttempt: transport errors', () => {
  const retried: DeliveryErrorClass[] = [
    'timeout',
    'connect_timeout',
    'connection_refused',
    'connection_reset',
    'dns',
    'tls',
    'network',
    'response_too_slow',
  ];
  for (const errorClass of retried) {
    it(`${errorClass} retries`, () => {
      assert.deepEqual(classifyAttempt({ errorClass, now }), {
        outcome: 'retry',
        reason: errorClass,
        disableEndpoint: false,
      });
    });
  }

  for (const errorClass of ['destination_blocked', 'invalid_url'] as const) {
    it(`${errorClass} failed`, () => {
      const v = classifyAttempt({ errorClass, now });
      assert.equal(v.outcome, 'failed');
      assert.equal(v.disableEndpoint, false);
    });
  }

  it('covers every error class', () => {
    assert.deepEqual(
      [...DELIVERY_ERROR_CLASSES].sort(),
      [...retried, 'destination_blocked', 'invalid_url'].sort(),
    );
  });

  it('an error wins over the status seen before it (a 200 whose body timed out is retried)', () => {
    const v = classifyAttempt({ statusCode: 200, errorClass: 'timeout', now });
    assert.equal(v.outcome, 'retry');
    assert.equal(v.reason, 'timeout (after HTTP 200)');
    assert.equal(
      classifyAttempt({ statusCode: 410, errorClass: 'connection_reset', now }).disableEndpoint,
      false,
    );
  });

  it('no status and no error is retried', () => {
    assert.equal(classifyAttempt({ now }).outcome, 'retry');
  });
});
