import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { DeliveryHelpers } from './support/delivery-helpers';
import { TestReceivers } from './support/receiver';
import { waitFor } from './support/scratch-db';
import { TestStack } from './support/stack';

// Reordered and integer-like keys, a 64-bit integer, a trailing zero, an out-of-range number, an escape, spaces.
const PAYLOAD =
  '{ "z" : 1,"10":"ten", "2":2, "big": 12345678901234567890, "price": 1.50, "huge": 1e400, "name":"\\u00e9" ,\n  "nested": {"b":[1 , 2],"a":null} }';

describe("payload fidelity: the producer's bytes, delivered, signed and shown as sent", () => {
  let stack: TestStack;
  let key: string;
  let h: DeliveryHelpers;
  const receivers = new TestReceivers();

  before(async () => {
    stack = await TestStack.start('payload-fidelity');
    key = (await stack.api.createApplication('fidelity')).key;
    h = new DeliveryHelpers(stack.api, key, stack.databaseUrl);
  });
  after(async () => {
    await stack.stop();
    await receivers.closeAll();
  });

  /** The `data` text of the delivery of `eventType`, after checking its signature with the standardwebhooks library. */
  async function deliveredData(
    rx: { requests: { body: string; headers: Record<string, unknown> }[] },
    secret: string,
    eventType: string,
  ): Promise<string> {
    const req = await waitFor(`delivery of ${eventType}`, async () =>
      rx.requests.find((r) => (JSON.parse(r.body) as { type: string }).type === eventType),
    );
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
    new Webhook(secret).verify(req.body, headers); // throws unless the signature covers these exact bytes
    const prefix = '"data":';
    return req.body.slice(req.body.indexOf(prefix) + prefix.length, -1);
  }

  it('single: data is byte-identical, the signature verifies, GET /v1/events/:id returns the same bytes', async () => {
    const rx = await receivers.start();
    const ep = await h.endpoint(rx.url, { eventTypes: ['fidelity.single'] });
    const raw = `{"eventType":"fidelity.single",  "payload":${PAYLOAD}}`;
    const r = await stack.api.request('POST', '/v1/events', { key, rawBody: raw });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    assert.equal(await deliveredData(rx, ep.secret, 'fidelity.single'), PAYLOAD);
    const view = await fetch(`${stack.api.baseUrl}/v1/events/${r.body.id}`, {
      headers: { authorization: `Bearer ${key}` },
    });
    assert.equal(view.status, 200);
    assert.match(view.headers.get('content-type') ?? '', /application\/json/);
    assert.ok((await view.text()).includes(`"payload":${PAYLOAD},`));
  });

  it("batch: each event's data is byte-identical and verifies", async () => {
    const rx = await receivers.start();
    const ep = await h.endpoint(rx.url, { eventTypes: ['fidelity.batch'] });
    const other = '{"b":1,"a":  [ ] }';
    const raw = `{"events":[{"eventType":"fidelity.other","payload":${other}}, {"payload":${PAYLOAD},"eventType":"fidelity.batch"}]}`;
    const r = await stack.api.request('POST', '/v1/events/batch', { key, rawBody: raw });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    assert.equal(await deliveredData(rx, ep.secret, 'fidelity.batch'), PAYLOAD);
  });

  it('duplicate keys in a payload: 422 naming payload, nothing written', async () => {
    const r = await stack.api.request('POST', '/v1/events', {
      key,
      rawBody: '{"eventType":"fidelity.dup","payload":{"id":1,"id":2}}',
    });
    assert.equal(r.status, 422);
    assert.deepEqual(
      r.body.fields.map((f: { field: string }) => f.field),
      ['payload'],
    );
  });
});
