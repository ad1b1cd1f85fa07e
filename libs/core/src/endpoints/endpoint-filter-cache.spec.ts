import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AppConfig } from '@tern/config';
import { matchFilter } from '@tern/delivery-rules';
import { EndpointFilterCache } from './endpoint-filter-cache';
import { filterDigest } from './endpoint-filter.sql';
import type { EndpointFilterRow, EndpointsRepository } from './endpoints.repository';

function cacheOver(rows: EndpointFilterRow[], ttlMs = 60_000) {
  const calls: string[][] = [];
  const repo = {
    findFilters: async (ids: string[]) => {
      calls.push([...ids]);
      return rows.filter((r) => ids.includes(r.applicationId));
    },
  } as unknown as EndpointsRepository;
  const cache = new EndpointFilterCache({ ENDPOINT_CACHE_TTL_MS: ttlMs } as AppConfig, repo);
  return { cache, calls, rows };
}

const row = (id: string, applicationId: string, filter: string): EndpointFilterRow => ({
  id,
  applicationId,
  eventTypes: [],
  filter,
});

describe('EndpointFilterCache', () => {
  it('compiles each application’s filters, with the digest of each stored text', async () => {
    const { cache } = cacheOver([row('ep_1', 'app_a', '{"type":"x"}'), row('ep_2', 'app_b', '{"type":"y"}')]);
    const got = await cache.get(['app_a', 'app_c']);
    const a = got.get('app_a')!;
    assert.equal(a.endpoints.length, 1);
    assert.equal(matchFilter(a.endpoints[0].filter, { type: 'x', data: {} }), true);
    assert.equal(matchFilter(a.endpoints[0].filter, { type: 'y', data: {} }), false);
    assert.deepEqual([...a.digests], [['ep_1', filterDigest('{"type":"x"}')]]);
    assert.deepEqual(got.get('app_c'), { endpoints: [], digests: new Map() });
  });

  it('loads the misses of one call in one query, shares concurrent loads, and reloads after invalidate', async () => {
    const { cache, calls } = cacheOver([]);
    await Promise.all([cache.get(['app_a', 'app_b']), cache.get(['app_b'])]);
    assert.deepEqual(calls, [['app_a', 'app_b']]);
    await cache.get(['app_a']);
    assert.equal(calls.length, 1);
    cache.invalidate(['app_a']);
    await cache.get(['app_a', 'app_b']);
    assert.deepEqual(calls[1], ['app_a']);
  });

  it('reloads entries older than the TTL (0: every call)', async () => {
    const { cache, calls } = cacheOver([], 0);
    await cache.get(['app_a']);
    await cache.get(['app_a']);
    assert.equal(calls.length, 2);
  });

  it('keeps the digest of an unreadable stored filter but applies no filter for it', async () => {
    const { cache } = cacheOver([row('ep_1', 'app_a', '{"type": {"$nope": 1}}')]);
    const a = (await cache.get(['app_a'])).get('app_a')!;
    assert.equal(a.endpoints.length, 0);
    assert.equal(a.digests.get('ep_1'), filterDigest('{"type": {"$nope": 1}}'));
  });
});
