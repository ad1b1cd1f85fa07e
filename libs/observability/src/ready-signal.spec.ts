import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { browserUrl } from './ready-signal';

describe('browserUrl', () => {
  it('is PUBLIC_URL when set, else the bound address, with wildcard binds shown as this machine', () => {
    assert.equal(browserUrl('https://hooks.example.com/', '0.0.0.0', 3000), 'https://hooks.example.com');
    assert.equal(browserUrl('', '127.0.0.1', 3000), 'http://127.0.0.1:3000');
    assert.equal(browserUrl('', '0.0.0.0', 3001), 'http://127.0.0.1:3001');
    assert.equal(browserUrl('', '::', 3000), 'http://127.0.0.1:3000');
    assert.equal(browserUrl('', '::1', 3000), 'http://[::1]:3000');
  });
});
