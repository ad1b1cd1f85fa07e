import assert from 'node:assert/strict';
import type * as dns from 'node:dns';
import { once } from 'node:events';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { AddressPolicy } from '@tern/delivery-rules';
import {
  DestinationBlockedError,
  hideAddresses,
  errorClassOf,
  guardedLookup,
  SendResult,
  WebhookSender,
  WebhookSenderOptions,
} from './webhook-sender';

interface Received {
  method?: string;
  url?: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

interface Receiver {
  port: number;
  url(path?: string): string;
  requests: Received[];
  connections: number;
  close(): Promise<void>;
}

/** A real loopback HTTP receiver; `handler` runs once the request body has been read. */
async function startReceiver(
  handler: (req: http.IncomingMessage, res: http.ServerResponse) => void,
): Promise<Receiver> {
  const requests: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({
        method: req.method,
        url: req.url,
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      });
      handler(req, res);
    });
  });
  const receiver = {
    port: 0,
    url: (path = '/') => `http://127.0.0.1:${receiver.port}${path}`,
    requests,
    connections: 0,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
  server.on('connection', () => receiver.connections++);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  receiver.port = (server.address() as AddressInfo).port;
  return receiver;
}

const LOOPBACK = AddressPolicy.fromCsv('127.0.0.0/8,::1/128');
const STRICT = AddressPolicy.fromCsv('');
const senders: WebhookSender[] = [];

function makeSender(overrides: Partial<WebhookSenderOptions> = {}): WebhookSender {
  const sender = new WebhookSender({
    connectTimeoutMs: 2000,
    attemptTimeoutMs: 3000,
    maxResponseBodyBytes: 4096,
    policy: LOOPBACK,
    userAgent: 'Tern/test',
    ...overrides,
  });
  senders.push(sender);
  return sender;
}

function post(sender: WebhookSender, url: string, body = '{"hello":"world"}'): Promise<SendResult> {
  return sender.send({ url, headers: { 'content-type': 'application/json', 'webhook-id': 'msg_1' }, body });
}

after(async () => {
  await Promise.all(senders.map((s) => s.close()));
});

describe('WebhookSender: responses', { timeout: 20_000 }, () => {
  let big: Receiver;
  let endless: Receiver;
  let small: Receiver;
  const MiB = 1024 * 1024;
  let endlessClosedEarly: Promise<boolean>;

  before(async () => {
    big = await startReceiver((_req, res) => {
      res.setHeader('X-Multi', ['a', 'b']);
      res.setHeader('Set-Cookie', ['a=1', 'b=2']);
      res.writeHead(200, { 'Content-Type': 'text/plain', 'X-Request-Count': '1' });
      res.end(Buffer.alloc(MiB, 'x'));
    });
    let resolveClosed: (early: boolean) => void;
    endlessClosedEarly = new Promise((r) => (resolveClosed = r));
    endless = await startReceiver((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      let sent = 0;
      const chunk = Buffer.alloc(64 * 1024, 'y');
      const pump = () => {
        // Keep writing (up to 1 GiB) for as long as the client keeps reading.
        while (sent < 1024 * MiB && res.write(chunk)) sent += chunk.length;
        if (sent < 1024 * MiB) res.once('drain', pump);
        else res.end();
      };
      res.on('close', () => resolveClosed(sent < 1024 * MiB));
      pump();
    });
    small = await startReceiver((_req, res) => res.end('ok'));
  });
  after(async () => {
    await Promise.all([big.close(), endless.close(), small.close()]);
  });

  it('sends a POST with the headers and body, and keeps only the first 4 KiB of a 1 MiB response', async () => {
    const sender = makeSender();
    const r = await post(sender, big.url('/hooks?x=1'));
    assert.equal(r.errorClass, undefined, r.errorMessage);
    assert.equal(r.statusCode, 200);
    assert.equal(r.responseBody, 'x'.repeat(4096));
    assert.equal(r.responseBodyTruncated, true);
    assert.ok(r.durationMs >= 0 && r.durationMs < 3000);
    assert.equal(r.responseHeaders?.['content-type'], 'text/plain');
    assert.equal(r.responseHeaders?.['x-request-count'], '1');
    assert.equal(r.responseHeaders?.['x-multi'], 'a, b');
    assert.equal(r.responseHeaders?.['set-cookie'], 'a=1, b=2');
    assert.ok(Object.keys(r.responseHeaders ?? {}).every((k) => k === k.toLowerCase()));

    const got = big.requests.at(-1);
    assert.equal(got?.method, 'POST');
    assert.equal(got?.url, '/hooks?x=1');
    assert.equal(got?.body, '{"hello":"world"}');
    assert.equal(got?.headers['content-type'], 'application/json');
    assert.equal(got?.headers['webhook-id'], 'msg_1');
    assert.equal(got?.headers['user-agent'], 'Tern/test');
    assert.equal(got?.headers['content-length'], '17');
  });

  it('stops reading an endless body at the cap and closes the connection', async () => {
    const sender = makeSender({ maxResponseBodyBytes: 1000 });
    const r = await post(sender, endless.url());
    assert.equal(r.errorClass, undefined, r.errorMessage);
    assert.equal(r.statusCode, 200);
    assert.equal(r.responseBody, 'y'.repeat(1000));
    assert.equal(r.responseBodyTruncated, true);
    assert.ok(r.durationMs < 2000, `took ${r.durationMs} ms`);
    assert.equal(await endlessClosedEarly, true, 'the receiver should see the connection closed mid-body');
  });

  it('returns a small body whole and reuses the kept-alive connection', async () => {
    const sender = makeSender();
    const before = small.connections;
    const a = await post(sender, small.url());
    // undici hands the socket back to its pool a tick after the body ends; a request sent in the same tick as the
    // previous body's end would open a second connection.
    await new Promise((resolve) => setImmediate(resolve));
    const b = await post(sender, small.url());
    for (const r of [a, b]) {
      assert.equal(r.statusCode, 200);
      assert.equal(r.responseBody, 'ok');
      assert.equal(r.responseBodyTruncated, undefined);
    }
    assert.equal(small.connections - before, 1);
  });

  it('keeps a caller-supplied user-agent', async () => {
    const sender = makeSender();
    await sender.send({ url: small.url(), headers: { 'User-Agent': 'custom/1' }, body: '' });
    assert.equal(small.requests.at(-1)?.headers['user-agent'], 'custom/1');
  });

  it('reads nothing with maxResponseBodyBytes 0', async () => {
    const sender = makeSender({ maxResponseBodyBytes: 0 });
    const r = await post(sender, big.url());
    assert.equal(r.statusCode, 200);
    assert.equal(r.responseBody, '');
    assert.equal(r.responseBodyTruncated, true);
  });
});

describe('WebhookSender: redirects and failures', { timeout: 20_000 }, () => {
  let target: Receiver;
  let redirector: Receiver;
  let silent: Receiver;
  let trickler: Receiver;
  const trickleTimers = new Set<NodeJS.Timeout>();
  let rawTrickler: net.Server;

  before(async () => {
    target = await startReceiver((_req, res) => res.end('should never be called'));
    redirector = await startReceiver((_req, res) => {
      res.writeHead(302, { Location: target.url('/moved') });
      res.end();
    });
    silent = await startReceiver(() => undefined);
    trickler = await startReceiver((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const timer = setInterval(() => res.write('.'), 200);
      trickleTimers.add(timer);
      res.on('close', () => clearInterval(timer));
    });
    // Trickles the status line itself, so the response head never completes in time.
    rawTrickler = net.createServer((socket) => {
      const line = 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok';
      let i = 0;
      const timer = setInterval(
        () => (i < line.length ? socket.write(line[i++]) : clearInterval(timer)),
        200,
      );
      socket.on('close', () => clearInterval(timer));
      socket.on('error', () => undefined);
    });
    rawTrickler.listen(0, '127.0.0.1');
    await once(rawTrickler, 'listening');
  });
  after(async () => {
    trickleTimers.forEach(clearInterval);
    rawTrickler.close();
    await Promise.all([target.close(), redirector.close(), silent.close(), trickler.close()]);
  });

  it('does not follow a 302', async () => {
    const r = await post(makeSender(), redirector.url());
    assert.equal(r.statusCode, 302);
    assert.equal(r.errorClass, undefined);
    assert.equal(r.responseHeaders?.location, target.url('/moved'));
    assert.equal(redirector.requests.length, 1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(target.requests.length, 0);
    assert.equal(target.connections, 0);
  });

  it('maps a refused connection to connection_refused', async () => {
    const closed = net.createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const port = (closed.address() as AddressInfo).port;
    closed.close();
    await once(closed, 'close');
    const r = await post(makeSender(), `http://127.0.0.1:${port}/`);
    assert.equal(r.errorClass, 'connection_refused');
    assert.match(r.errorMessage ?? '', /ECONNREFUSED/);
    assert.equal(r.statusCode, undefined);
  });

  it('times out a receiver that never answers, within the deadline', async () => {
    const r = await post(makeSender({ attemptTimeoutMs: 500 }), silent.url());
    assert.equal(r.errorClass, 'timeout');
    assert.equal(r.statusCode, undefined);
    assert.match(r.errorMessage ?? '', /within 500 ms/);
    assert.ok(r.durationMs >= 450 && r.durationMs < 1200, `took ${r.durationMs} ms`);
    assert.equal(silent.requests.length, 1);
  });

  it('times out a receiver trickling a byte every 200 ms (total deadline, not idle timeout)', async () => {
    const r = await post(makeSender({ attemptTimeoutMs: 1000 }), trickler.url());
    assert.equal(r.errorClass, 'timeout');
    assert.equal(r.statusCode, 200); // the head arrived; the body did not finish in time
    assert.match(r.errorMessage ?? '', /body too slow/);
    assert.ok(r.durationMs >= 950 && r.durationMs < 1800, `took ${r.durationMs} ms`);
  });

  it('times out a receiver trickling its status line', async () => {
    const port = (rawTrickler.address() as AddressInfo).port;
    const r = await post(makeSender({ attemptTimeoutMs: 1000 }), `http://127.0.0.1:${port}/`);
    assert.equal(r.errorClass, 'timeout');
    assert.equal(r.statusCode, undefined);
    assert.ok(r.durationMs >= 950 && r.durationMs < 1800, `took ${r.durationMs} ms`);
  });

  it('maps a TLS handshake with a plain-HTTP server to tls', async () => {
    const r = await post(makeSender(), `https://127.0.0.1:${target.port}/`);
    assert.equal(r.errorClass, 'tls', r.errorMessage);
    assert.equal(target.requests.length, 0);
  });

  it('maps a resolver that never answers to connect_timeout', async () => {
    const hang = (() => undefined) as unknown as typeof dns.lookup;
    const r = await post(
      makeSender({ connectTimeoutMs: 300, attemptTimeoutMs: 5000, lookup: hang }),
      'http://hang.test/',
    );
    assert.equal(r.errorClass, 'connect_timeout', r.errorMessage);
    // undici 7 runs connect timeouts on its coarse "fast timers" (≈500 ms ticks): 300 ms fires after ~0.5-1 s.
    assert.ok(r.durationMs >= 250 && r.durationMs < 2500, `took ${r.durationMs} ms`);
  });

  it('maps a DNS failure to dns', async () => {
    const notFound = ((_h: string, _o: unknown, cb: (e: Error) => void) =>
      cb(
        Object.assign(new Error('getaddrinfo ENOTFOUND nowhere.test'), { code: 'ENOTFOUND' }),
      )) as unknown as typeof dns.lookup;
    const r = await post(makeSender({ lookup: notFound }), 'http://nowhere.test/');
    assert.equal(r.errorClass, 'dns');
    assert.match(r.errorMessage ?? '', /ENOTFOUND/);
  });

  it('rejects URLs and headers it cannot use, without throwing', async () => {
    const sender = makeSender();
    assert.equal((await post(sender, 'not a url')).errorClass, 'invalid_url');
    assert.equal((await post(sender, 'ftp://127.0.0.1/')).errorClass, 'invalid_url');
    const before = target.requests.length;
    const r = await sender.send({ url: target.url(), headers: { 'x-evil': 'a\r\nx-injected: 1' }, body: '' });
    assert.equal(r.errorClass, 'invalid_url', r.errorMessage);
    assert.match(r.errorMessage ?? '', /header/i);
    assert.equal(target.requests.length, before);
  });
});

describe('WebhookSender: SSRF', { timeout: 20_000 }, () => {
  let receiver: Receiver;
  before(async () => {
    receiver = await startReceiver((_req, res) => res.end('reached'));
  });
  after(() => receiver.close());

  it('blocks loopback, metadata and IPv4-embedding destinations with an empty allow-list, sending nothing', async () => {
    const sender = makeSender({ policy: STRICT });
    const p = receiver.port;
    const urls = [
      `http://127.1:${p}/`,
      `http://127.0.0.1:${p}/`,
      `http://[::ffff:7f00:1]:${p}/`,
      `http://[::1]:${p}/`,
      'http://169.254.169.254/latest/meta-data/',
      'http://[64:ff9b::a9fe:a9fe]/',
      'http://[fd00:ec2::254]/',
      `http://0.0.0.0:${p}/`,
      `http://localhost:${p}/`,
    ];
    for (const url of urls) {
      const r = await post(sender, url);
      assert.equal(r.errorClass, 'destination_blocked', `${url}: ${r.errorClass} ${r.errorMessage}`);
      assert.match(r.errorMessage ?? '', /is not allowed \([\w-]+ address\)$/, url);
      assert.equal(r.statusCode, undefined);
    }
    assert.equal(receiver.requests.length, 0);
    assert.equal(receiver.connections, 0);
  });

  it('names the class of a blocked address, never the address a name resolved to', async () => {
    const r = await post(makeSender({ policy: STRICT }), `http://localhost:${receiver.port}/`);
    assert.equal(r.errorMessage, 'destination localhost is not allowed (loopback address)');
  });

  it('hides IP addresses in socket errors (they would map internal names for a tenant)', () => {
    assert.equal(hideAddresses('connect ECONNREFUSED 10.1.2.3:443'), 'connect ECONNREFUSED <address>');
    assert.equal(hideAddresses('connect ECONNREFUSED ::1:8080'), 'connect ECONNREFUSED <address>');
    assert.equal(hideAddresses('connect ETIMEDOUT [fd00::5]:80, then'), 'connect ETIMEDOUT <address>, then');
    assert.equal(
      hideAddresses('connect EHOSTUNREACH fd00::5 (::1)'),
      'connect EHOSTUNREACH <address> (<address>)',
    );
    assert.equal(hideAddresses('getaddrinfo ENOTFOUND shop.example'), 'getaddrinfo ENOTFOUND shop.example');
  });

  it('blocks a name if ANY of its addresses is blocked', async () => {
    const mixed = ((_h: string, _o: unknown, cb: (e: null, a: dns.LookupAddress[]) => void) =>
      cb(null, [
        { address: '8.8.8.8', family: 4 },
        { address: '127.0.0.1', family: 4 },
      ])) as unknown as typeof dns.lookup;
    const r = await post(
      makeSender({ policy: STRICT, lookup: mixed }),
      `http://mixed.test:${receiver.port}/`,
    );
    assert.equal(r.errorClass, 'destination_blocked');
    assert.equal(r.errorMessage, 'destination mixed.test is not allowed (loopback address)');
    assert.equal(receiver.connections, 0);
  });

  it('lets allow-listed loopback through (literal, shorthand and name)', async () => {
    const sender = makeSender({ policy: LOOPBACK });
    for (const url of [
      receiver.url(),
      `http://127.1:${receiver.port}/`,
      `http://localhost:${receiver.port}/`,
    ]) {
      const r = await post(sender, url);
      assert.equal(r.errorClass, undefined, `${url}: ${r.errorMessage}`);
      assert.equal(r.statusCode, 200);
      assert.equal(r.responseBody, 'reached');
    }
    assert.equal(receiver.requests.length, 3);
  });

  it('connects to the address the injected resolver checked, keeping the hostname in Host', async () => {
    const calls: unknown[] = [];
    const fake = ((host: string, opts: unknown, cb: (e: null, a: dns.LookupAddress[]) => void) => {
      calls.push([host, opts]);
      cb(null, [{ address: '127.0.0.1', family: 4 }]);
    }) as unknown as typeof dns.lookup;
    const before = receiver.requests.length;
    const r = await post(
      makeSender({ policy: LOOPBACK, lookup: fake }),
      `http://receiver.test:${receiver.port}/x`,
    );
    assert.equal(r.statusCode, 200, r.errorMessage);
    assert.equal(receiver.requests.length, before + 1);
    assert.equal(receiver.requests.at(-1)?.headers.host, `receiver.test:${receiver.port}`);
    assert.equal(calls.length, 1);
    assert.equal((calls[0] as [string, dns.LookupOptions])[0], 'receiver.test');
    assert.equal((calls[0] as [string, dns.LookupOptions])[1].all, true);
  });
});

describe('guardedLookup', () => {
  const fake = ((_h: string, opts: dns.LookupOptions, cb: (e: null, a: dns.LookupAddress[]) => void) => {
    assert.equal(opts.all, true, 'the base resolver is always asked for all addresses');
    cb(null, [
      { address: '2606:4700::1', family: 6 },
      { address: '8.8.8.8', family: 4 },
    ]);
  }) as unknown as typeof dns.lookup;

  function call(lookup: typeof dns.lookup, ...args: unknown[]): Promise<unknown[]> {
    return new Promise((resolve) =>
      (lookup as (...a: unknown[]) => void)('example.test', ...args, (...r: unknown[]) => resolve(r)),
    );
  }

  it('answers the { all: true } form with the whole list', async () => {
    const [err, list] = await call(guardedLookup(STRICT, fake), { all: true });
    assert.equal(err, null);
    assert.deepEqual(list, [
      { address: '2606:4700::1', family: 6 },
      { address: '8.8.8.8', family: 4 },
    ]);
  });

  it('answers the single-address forms (options object, family number, no options)', async () => {
    const lookup = guardedLookup(STRICT, fake);
    assert.deepEqual(await call(lookup, {}), [null, '2606:4700::1', 6]);
    assert.deepEqual(await call(lookup, 4), [null, '2606:4700::1', 6]);
    assert.deepEqual(await call(lookup), [null, '2606:4700::1', 6]);
  });

  it('fails with DestinationBlockedError when any address is blocked, in both forms', async () => {
    const withPrivate = ((_h: string, _o: unknown, cb: (e: null, a: dns.LookupAddress[]) => void) =>
      cb(null, [
        { address: '8.8.8.8', family: 4 },
        { address: '10.0.0.7', family: 4 },
      ])) as unknown as typeof dns.lookup;
    for (const opts of [{ all: true }, {}]) {
      const [err] = await call(guardedLookup(STRICT, withPrivate), opts);
      assert.ok(err instanceof DestinationBlockedError);
      assert.equal(err.address, '10.0.0.7');
      assert.equal(err.addressClass, 'private');
      assert.equal(errorClassOf(err), 'destination_blocked');
    }
  });

  it('turns an empty answer into ENOTFOUND and passes resolver errors through', async () => {
    const empty = ((_h: string, _o: unknown, cb: (e: null, a: dns.LookupAddress[]) => void) =>
      cb(null, [])) as unknown as typeof dns.lookup;
    const [err] = await call(guardedLookup(STRICT, empty), { all: true });
    assert.equal((err as NodeJS.ErrnoException).code, 'ENOTFOUND');
    const failing = ((_h: string, _o: unknown, cb: (e: Error) => void) =>
      cb(Object.assign(new Error('x'), { code: 'EAI_AGAIN' }))) as unknown as typeof dns.lookup;
    const [err2] = await call(guardedLookup(STRICT, failing), { all: true });
    assert.equal((err2 as NodeJS.ErrnoException).code, 'EAI_AGAIN');
  });
});

describe('errorClassOf', () => {
  const withCode = (code: string) => Object.assign(new Error(code), { code });
  const table: [unknown, string][] = [
    [withCode('ECONNREFUSED'), 'connection_refused'],
    [withCode('ECONNRESET'), 'connection_reset'],
    [withCode('EPIPE'), 'connection_reset'],
    [withCode('UND_ERR_SOCKET'), 'connection_reset'],
    [withCode('ENOTFOUND'), 'dns'],
    [withCode('EAI_AGAIN'), 'dns'],
    [withCode('UND_ERR_CONNECT_TIMEOUT'), 'connect_timeout'],
    [withCode('UND_ERR_HEADERS_TIMEOUT'), 'timeout'],
    [withCode('UND_ERR_BODY_TIMEOUT'), 'timeout'],
    [new DOMException('signal timed out', 'TimeoutError'), 'timeout'],
    [new DOMException('aborted', 'AbortError'), 'timeout'],
    [withCode('ERR_TLS_CERT_ALTNAME_INVALID'), 'tls'],
    [withCode('CERT_HAS_EXPIRED'), 'tls'],
    [withCode('UNABLE_TO_VERIFY_LEAF_SIGNATURE'), 'tls'],
    [withCode('DEPTH_ZERO_SELF_SIGNED_CERT'), 'tls'],
    [withCode('ERR_SSL_WRONG_VERSION_NUMBER'), 'tls'],
    [withCode('EPROTO'), 'tls'],
    [new DestinationBlockedError('a', '10.0.0.1', 'private'), 'destination_blocked'],
    [new Error('wrapped', { cause: withCode('ECONNRESET') }), 'connection_reset'],
    [new AggregateError([withCode('ECONNREFUSED'), withCode('ECONNREFUSED')]), 'connection_refused'],
    [withCode('EHOSTUNREACH'), 'network'],
    [new Error('something else'), 'network'],
    ['a string', 'network'],
    [undefined, 'network'],
  ];
  for (const [err, cls] of table) {
    it(`${err instanceof Error ? ((err as NodeJS.ErrnoException).code ?? err.name) : String(err)} → ${cls}`, () => {
      assert.equal(errorClassOf(err), cls);
    });
  }
});
