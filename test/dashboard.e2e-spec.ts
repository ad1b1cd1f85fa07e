import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { deriveWebKey, makePortalLinkToken } from '@tern/core';
import { chromium } from 'playwright-core';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { Webhook } from 'standardwebhooks';
import { ADMIN_KEY } from './support/api-harness';
import { TestReceivers } from './support/receiver';
import { waitFor } from './support/scratch-db';
import { TestStack } from './support/stack';
import { TEST_ENV } from './support/test-env';

// The web dashboard (/dashboard, support) and customer portal (/portal), driven in a real Chromium against a real
// API + worker (TestStack) and real HTTP receivers. Screenshots go to artifacts/screenshots/.

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const ROOT = join(__dirname, '..', '..');
const SHOTS = join(ROOT, 'artifacts', 'screenshots');
const VIEWPORT = { width: 1366, height: 860 };

describe('web dashboard and customer portal', () => {
  let stack: TestStack;
  let browser: Browser;
  let base: string;
  const receivers = new TestReceivers();
  const contexts: BrowserContext[] = [];

  before(async () => {
    assert.ok(
      existsSync(CHROMIUM),
      `Chromium is not installed at ${CHROMIUM}; the dashboard browser tests drive it through playwright-core. ` +
        'Install it with scripts/ci-system-packages.sh (apt-get install chromium).',
    );
    mkdirSync(SHOTS, { recursive: true });
    stack = await TestStack.start('dashboard');
    base = stack.api.baseUrl;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  });

  after(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await stack?.stop();
    await receivers.closeAll();
  });

  const receiver = () => receivers.start();

  async function newPage(): Promise<{ page: Page; context: BrowserContext }> {
    const context = await browser.newContext({ viewport: VIEWPORT });
    contexts.push(context);
    return { page: await context.newPage(), context };
  }

  async function shot(page: Page, name: string): Promise<void> {
    await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  }

  async function endpoint(
    key: string,
    body: Record<string, unknown>,
  ): Promise<{ id: string; secret: string }> {
    const r = await stack.api.request('POST', '/v1/endpoints', { key, body });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return { id: r.body.id, secret: r.body.secret };
  }

  async function emit(key: string, eventType: string, payload: unknown): Promise<string> {
    const r = await stack.api.request('POST', '/v1/events', { key, body: { eventType, payload } });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    return r.body.id;
  }

  async function settledDeliveries(key: string, endpointId: string, count: number): Promise<any[]> {
    return waitFor(`${count} settled deliveries to ${endpointId}`, async () => {
      const r = await stack.api.request('GET', `/v1/deliveries?endpointId=${endpointId}`, { key });
      const done = (r.body?.data ?? []).filter((d: any) => d.status !== 'pending');
      return done.length >= count ? done : null;
    });
  }

  async function portalLink(key: string): Promise<string> {
    const r = await stack.api.request('POST', '/v1/portal-links', { key });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body.url;
  }

  async function text(page: Page, selector: string): Promise<string> {
    return (await page.locator(selector).first().textContent()) ?? '';
  }

  /** A form POST as a browser on this site would send it (no redirects followed). */
  function post(path: string, fields: Record<string, string>, cookie?: string): Promise<Response> {
    return fetch(`${base}${path}`, {
      method: 'POST',
      redirect: 'manual',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        origin: base,
        ...(cookie ? { cookie } : {}),
      },
      body: new URLSearchParams(fields).toString(),
    });
  }

  /** Reloads until `selector` is on the page. */
  async function reloadUntil(page: Page, selector: string, what: string): Promise<void> {
    await waitFor(
      what,
      async () => {
        await page.reload();
        return (await page.locator(selector).count()) > 0;
      },
      20_000,
      300,
    );
  }

  it('support: sign in with a support key, find a failed delivery by search, redeliver it, see it succeed', async () => {
    const app = await stack.api.createApplication('Acme Billing');
    const failing = (await receiver()).always({
      status: 400,
      headers: { 'content-type': 'application/json' },
      body: '{"error":"unknown order"}',
    });
    const healthy = (await receiver()).always(200);
    const bad = await endpoint(app.key, {
      url: failing.url,
      description: 'Order sync',
      eventTypes: ['order.created'],
    });
    const good = await endpoint(app.key, { url: healthy.url, description: 'Analytics' });
    for (let i = 1; i <= 3; i++) await emit(app.key, 'order.created', { orderId: 1000 + i, total: '19.99' });
    await settledDeliveries(app.key, bad.id, 3);
    await settledDeliveries(app.key, good.id, 3);

    const sk = await stack.api.request('POST', '/v1/support-keys', {
      key: ADMIN_KEY,
      body: { name: 'dashboard e2e' },
    });
    assert.equal(sk.status, 201, JSON.stringify(sk.body));
    const supportKey: string = sk.body.key;

    const { page, context } = await newPage();
    await page.goto(`${base}/dashboard`);
    assert.match(page.url(), /\/dashboard\/login\?next=%2Fdashboard$/);
    await shot(page, 'dashboard-login');
    await page.fill('#key', supportKey);
    await page.click('button[type=submit]');
    await page.waitForURL(`${base}/dashboard`);
    assert.match(await text(page, 'header'), new RegExp(`support\\s+${sk.body.id}`));
    assert.match(await text(page, 'body'), /History kept for 30 days/);
    // The session cookie: httpOnly, SameSite=Strict, and without the key in it.
    const cookie = (await context.cookies()).find((c) => c.name === 'tern_dashboard');
    assert.ok(cookie, 'no session cookie');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Strict');
    const decoded = Buffer.from(cookie.value.split('.')[0], 'base64url').toString('utf8');
    assert.ok(!decoded.includes(supportKey.split('.')[1]), 'the cookie must not hold the key');
    await shot(page, 'dashboard-applications');

    // Search by a piece of the endpoint URL → the endpoint page (health + its deliveries).
    const port = new URL(failing.url).port;
    await page.fill('header input[name=q]', `127.0.0.1:${port}`);
    await page.press('header input[name=q]', 'Enter');
    await page.waitForURL(`${base}/dashboard/endpoints/${bad.id}`);
    assert.match(await text(page, 'main'), /Failure streak\s*3/);
    await shot(page, 'dashboard-endpoint');

    // Open one of its failed deliveries.
    const row = page.locator('tr[data-status="failed"]').first();
    const deliveryId = await row.getAttribute('data-delivery-id');
    assert.ok(deliveryId);
    await row.locator(`a[href="/dashboard/deliveries/${deliveryId}"]`).click();
    await page.waitForURL(`${base}/dashboard/deliveries/${deliveryId}`);
    assert.match(await text(page, 'main'), /Priority\s*normal/);
    const first = page.locator('details.attempt[data-attempt="1"][data-outcome="failed"]');
    assert.equal(await first.count(), 1);
    const firstText = (await first.textContent()) ?? '';
    assert.match(firstText, /HTTP 400/);
    assert.match(firstText, /unknown order/);
    assert.match(firstText, /webhook-signature/);

    // The search box also goes straight to a delivery id, an event id and an endpoint id.
    await page.fill('header input[name=q]', deliveryId);
    await page.press('header input[name=q]', 'Enter');
    await page.waitForURL(`${base}/dashboard/deliveries/${deliveryId}`);
    await shot(page, 'dashboard-delivery-failed');

    // The receiver is fixed; redeliver.
    failing.always(200);
    await page.click('[data-testid=redeliver]');
    await page.locator('[data-testid=flash]').waitFor();
    assert.match(await text(page, '[data-testid=flash]'), /Redelivery queued: attempt #2/);
    await reloadUntil(
      page,
      'details.attempt[data-attempt="2"][data-outcome="succeeded"]',
      'the redelivered attempt to succeed',
    );
    assert.match(await text(page, 'h1'), /succeeded/);
    assert.match(await text(page, 'details.attempt[data-attempt="2"]'), /HTTP 200/);
    await shot(page, 'dashboard-delivery-redelivered');

    const eventId = await page.locator('a[href^="/dashboard/events/evt_"]').first().textContent();
    await page.fill('header input[name=q]', eventId!.trim());
    await page.press('header input[name=q]', 'Enter');
    await page.waitForURL(`${base}/dashboard/events/${eventId!.trim()}`);
    assert.equal(await page.locator('tr[data-delivery-id]').count(), 2);

    await page.goto(`${base}/dashboard/apps/${app.id}`);
    assert.equal(await page.locator('article.endpoint').count(), 2);
    assert.equal(await page.locator('article.endpoint svg.chart').count(), 2);
    await shot(page, 'dashboard-application');
    // The deliveries page filters with the query names of GET /v1/deliveries.
    assert.equal(await page.locator(`a[href="/dashboard/deliveries?applicationId=${app.id}"]`).count(), 1);
    await page.goto(`${base}/dashboard/deliveries?applicationId=${app.id}&endpointId=${good.id}`);
    assert.equal(await page.locator('tr[data-delivery-id]').count(), 3);
    assert.equal(await page.locator('tr[data-status="succeeded"]').count(), 3);
    assert.match(await text(page, '.filters'), /endpointId/);

    await page.goto(`${base}/dashboard/deliveries?status=failed`);
    assert.equal(await page.locator('tr[data-status="failed"]').count(), 2);
    await shot(page, 'dashboard-deliveries-failed');

    // Signing out ends the session.
    await page.click('header button:has-text("Sign out")');
    await page.waitForURL(`${base}/dashboard/login`);
    await page.goto(`${base}/dashboard/deliveries`);
    assert.match(page.url(), /\/dashboard\/login/);
  });

  it('ordered endpoint in block mode: the endpoint page lists a blocked key; Skip lets its next delivery go', async () => {
    const app = await stack.api.createApplication('ordered dashboard');
    const rx = (await receiver()).reply(400).always(200);
    const ep = await endpoint(app.key, { url: rx.url, ordering: 'partitioned', onFailure: 'block' });
    const batch = await stack.api.request('POST', '/v1/events/batch', {
      key: app.key,
      body: {
        events: [0, 1].map((n) => ({ eventType: 'ordered.ui', payload: { n }, partitionKey: 'customer-7' })),
      },
    });
    assert.equal(batch.status, 202, JSON.stringify(batch.body));
    await waitFor(
      'the key to be blocked',
      async () => {
        const r = await stack.api.request('GET', `/v1/endpoints/${ep.id}/blocked-partitions`, {
          key: app.key,
        });
        return r.body.data.length === 1 ? true : null;
      },
      30_000,
      100,
    );
    assert.equal(rx.requests.length, 1, 'the second event waits behind the failed first');

    const { page } = await newPage();
    await page.goto(`${base}/dashboard/login`);
    await page.fill('#key', ADMIN_KEY);
    await page.click('button[type=submit]');
    await page.waitForURL(`${base}/dashboard`);
    await page.goto(`${base}/dashboard/endpoints/${ep.id}`);
    assert.match(await text(page, 'main'), /Ordering\s*per partition key · on failure: block/);
    assert.match(await text(page, 'main'), /Blocked partition keys[\s\S]*customer-7/);
    await shot(page, 'dashboard-endpoint-blocked-partition');
    await page.click('[data-testid=skip-partition]');
    await page.locator('[data-testid=flash]').waitFor();
    assert.match(await text(page, '[data-testid=flash]'), /Skipped: partition "customer-7"/);
    await waitFor(
      'the next event of the key',
      async () => (rx.requests.length === 2 ? true : null),
      30_000,
      100,
    );
    assert.equal(JSON.parse(rx.requests[1].body).data.n, 1);
    assert.equal(
      await page.locator('[data-testid=skip-partition]').count(),
      0,
      'no blocked key left on the page',
    );
  });

  it('portal: open a portal link, add an endpoint, send a test event and see it delivered', async () => {
    const app = await stack.api.createApplication('Globex');
    const rx = await receiver();
    const url = await portalLink(app.key);
    assert.match(url, new RegExp(`^${base}/portal/enter#token=pl1\\.${app.id}\\.`));

    const { page } = await newPage();
    await page.goto(url);
    await page.waitForURL(`${base}/portal`);
    assert.ok(!page.url().includes('token'), 'the token must leave the address bar');
    assert.match(await text(page, 'header'), /Globex/);
    await shot(page, 'portal-empty');

    await page.click('text=Add endpoint');
    await page.waitForURL(`${base}/portal/endpoints/new`);
    // Invalid input: the service's and the form's problems are shown next to the fields.
    await page.fill('#url', 'ftp://example.com/hook');
    await page.fill('#eventTypes', 'order.created, bad/type');
    await page.click('form.stack button[type=submit]');
    await page.locator('.field-error[data-field="eventTypes"]').waitFor();
    assert.match(
      await text(page, '.field-error[data-field="eventTypes"]'),
      /event types include "bad\/type"/,
    );
    assert.equal(await page.inputValue('#url'), 'ftp://example.com/hook');
    await shot(page, 'portal-add-endpoint-invalid');

    await page.fill('#eventTypes', 'order.created');
    await page.click('form.stack button[type=submit]');
    await page.locator('.field-error[data-field="url"]').waitFor();
    assert.match(await text(page, '.field-error[data-field="url"]'), /http/);
    assert.equal(await page.locator('.field-error[data-field="eventTypes"]').count(), 0);
    await shot(page, 'portal-add-endpoint-invalid-url');

    await page.fill('#url', rx.url);
    await page.fill('#description', 'Order notifications');
    await page.fill('#eventTypes', 'order.created, order.refunded');
    await page.click('form.stack button[type=submit]');
    await page.waitForURL(/\/portal\/endpoints\/ep_[0-9a-f]{28}\?reveal=1$/);
    const endpointId = /ep_[0-9a-f]{28}/.exec(page.url())![0];
    const secret = (await text(page, '[data-testid=secret]')).trim();
    assert.match(secret, /^whsec_/);

    await page.click('[data-testid=send-test]');
    await page.waitForURL(`${base}/portal/endpoints/${endpointId}`);
    assert.match(await text(page, '[data-testid=flash]'), /Test event evt_[0-9a-f]{28} sent/);
    await shot(page, 'portal-endpoint');

    await page.click('header nav >> text=Deliveries');
    await page.waitForURL(`${base}/portal/deliveries`);
    await reloadUntil(page, 'tr[data-status="succeeded"]', 'the test event to be delivered');
    assert.match(await text(page, 'tr[data-status="succeeded"]'), /tern\.test/);
    await shot(page, 'portal-deliveries');

    // What the receiver got verifies with the secret the portal showed.
    assert.equal(rx.requests.length, 1);
    const req = rx.requests[0];
    const verified = new Webhook(secret).verify(req.body, req.headers as Record<string, string>) as any;
    assert.equal(verified.type, 'tern.test');

    await page.click('tr[data-status="succeeded"] a[href^="/portal/deliveries/"]');
    await page.locator('details.attempt[data-attempt="1"][data-outcome="succeeded"]').waitFor();
    await shot(page, 'portal-delivery');

    // Edit: disable with a reason, then rotate the secret.
    await page.goto(`${base}/portal/endpoints/${endpointId}`);
    await page.check('input[name=disabled]');
    await page.fill('#disabledReason', 'maintenance');
    await page.click('form.stack button[type=submit]');
    await page.locator('[data-testid=flash]:has-text("Saved")').waitFor();
    assert.match(await text(page, 'h1'), /disabled/);
    assert.match(await text(page, 'main'), /maintenance/);
    await page.click('text=Rotate secret');
    await page.waitForURL(`${base}/portal/endpoints/${endpointId}?reveal=1`);
    const rotated = (await text(page, '[data-testid=secret]')).trim();
    assert.match(rotated, /^whsec_/);
    assert.notEqual(rotated, secret);
    const api = await stack.api.request('GET', `/v1/endpoints/${endpointId}`, { key: app.key });
    assert.equal(api.body.disabled, true);
    assert.deepEqual(api.body.eventTypes, ['order.created', 'order.refunded']);
  });

  it("portal: edit an endpoint's payload filter (errors inline, kept as typed); the dashboard shows it", async () => {
    const app = await stack.api.createApplication('Hooli');
    const rx = await receiver();
    const ep = await endpoint(app.key, { url: rx.url });
    const { page } = await newPage();
    await page.goto(await portalLink(app.key));
    await page.waitForURL(`${base}/portal`);
    await page.goto(`${base}/portal/endpoints/${ep.id}`);
    assert.equal(await page.inputValue('#filter'), '');

    await page.fill('#filter', '{"data.total": {"$gtt": 100}}');
    await page.click('form.stack button[type=submit]');
    await page.locator('.field-error[data-field="filter.data.total.$gtt"]').waitFor();
    assert.equal(await page.inputValue('#filter'), '{"data.total": {"$gtt": 100}}');
    await page.fill('#filter', '{"data.total": ');
    await page.click('form.stack button[type=submit]');
    await page.locator('.field-error[data-field="filter"]').waitFor();
    assert.match(await text(page, '.field-error[data-field="filter"]'), /not valid JSON/);
    await shot(page, 'portal-endpoint-filter-invalid');
    assert.equal(
      (await stack.api.request('GET', `/v1/endpoints/${ep.id}`, { key: app.key })).body.filter,
      null,
    );

    const typed = '{"data.total": {"$gte": 100}}';
    await page.fill('#filter', typed);
    await page.click('form.stack button[type=submit]');
    await page.locator('[data-testid=flash]:has-text("Saved")').waitFor();
    assert.equal(await page.inputValue('#filter'), typed);
    const raw = await fetch(`${base}/v1/endpoints/${ep.id}`, {
      headers: { authorization: `Bearer ${app.key}` },
    });
    assert.ok((await raw.text()).includes(`"filter":${typed}`), 'stored as typed');
    assert.equal(
      (
        await stack.api.request('POST', '/v1/events', {
          key: app.key,
          body: { eventType: 'a', payload: { total: 5 } },
        })
      ).body.deliveryCount,
      0,
    );

    // Saving with the field emptied clears it.
    await page.fill('#filter', '');
    await page.click('form.stack button[type=submit]');
    await page.locator('[data-testid=flash]:has-text("Saved")').waitFor();
    assert.equal(
      (await stack.api.request('GET', `/v1/endpoints/${ep.id}`, { key: app.key })).body.filter,
      null,
    );
    await stack.api.request('PATCH', `/v1/endpoints/${ep.id}`, {
      key: app.key,
      body: { filter: { type: 'x' } },
    });

    const dash = (await newPage()).page;
    await dash.goto(`${base}/dashboard/login`);
    await dash.fill('#key', ADMIN_KEY);
    await dash.click('button[type=submit]');
    await dash.waitForURL(`${base}/dashboard`);
    await dash.goto(`${base}/dashboard/endpoints/${ep.id}`);
    assert.equal((await text(dash, '[data-testid=endpoint-filter]')).trim(), '{"type":"x"}');
    await shot(dash, 'dashboard-endpoint-filter');
  });

  it("portal: another application's deliveries and endpoints are 404; the dashboard stays closed", async () => {
    const mine = await stack.api.createApplication('Initech');
    const other = await stack.api.createApplication('Umbrella');
    const rx = await receiver();
    const theirs = await endpoint(other.key, { url: rx.url });
    await emit(other.key, 'order.created', { secret: 'of another application' });
    const [delivery] = await settledDeliveries(other.key, theirs.id, 1);

    const { page } = await newPage();
    await page.goto(await portalLink(mine.key));
    await page.waitForURL(`${base}/portal`);
    for (const path of [
      `/portal/deliveries/${delivery.id}`,
      `/portal/endpoints/${theirs.id}`,
      `/portal/deliveries?endpointId=${theirs.id}`,
    ]) {
      const res = await page.goto(`${base}${path}`);
      assert.equal(res?.status(), 404, path);
      assert.equal(await page.locator('[data-testid=error-page]').count(), 1);
      assert.ok(!(await text(page, 'body')).includes('of another application'));
    }
    await shot(page, 'portal-other-application-404');
    // A form posted to another application's delivery is 404 too (and nothing is re-queued).
    const csrf = await page.locator('input[name=_csrf]').first().getAttribute('value');
    const post = await page.request.post(`${base}/portal/deliveries/${delivery.id}/redeliver`, {
      form: { _csrf: csrf ?? '' },
      headers: { origin: base },
      maxRedirects: 0,
    });
    assert.equal(post.status(), 404);
    const again = await stack.api.request('GET', `/v1/deliveries/${delivery.id}`, { key: other.key });
    assert.equal(again.body.status, 'succeeded');

    // A portal session is not a dashboard session.
    await page.goto(`${base}/dashboard`);
    assert.match(page.url(), /\/dashboard\/login/);
  });

  it('refuses forged, expired and misused links, unknown keys and forms without the CSRF token', async () => {
    const app = await stack.api.createApplication('Hooli');
    // Only application keys make portal links.
    assert.equal((await stack.api.request('POST', '/v1/portal-links', { key: ADMIN_KEY })).status, 403);
    assert.equal((await stack.api.request('POST', '/v1/portal-links')).status, 401);

    const url = await portalLink(app.key);
    const token = url.split('#token=')[1];
    const forged = token.replace(/\.(\d+)\./, (_m, exp: string) => `.${Number(exp) + 86400}.`);
    assert.equal((await post('/portal/enter', { token: forged })).status, 401);
    const key = deriveWebKey(TEST_ENV, 'portal-link');
    const expired = makePortalLinkToken(key, app.id, new Date(Date.now() - 1000));
    assert.equal((await post('/portal/enter', { token: expired })).status, 410);
    const ok = await post('/portal/enter', { token });
    assert.equal(ok.status, 303);
    const portalCookie = ok.headers.getSetCookie().find((c) => c.startsWith('tern_portal='))!;
    assert.match(portalCookie, /HttpOnly/);
    assert.match(portalCookie, /SameSite=Strict/);
    assert.match(portalCookie, /Path=\/portal/);
    const cookie = portalCookie.split(';')[0];

    // A form without the session's CSRF token, or from another origin, does nothing.
    assert.equal((await post('/portal/endpoints', { url: 'https://example.com/x' }, cookie)).status, 403);
    const crossSite = await fetch(`${base}/portal/endpoints`, {
      method: 'POST',
      redirect: 'manual',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        origin: 'https://evil.example',
        cookie,
      },
      body: 'url=https%3A%2F%2Fexample.com%2Fx',
    });
    assert.equal(crossSite.status, 403);
    const list = await stack.api.request('GET', '/v1/endpoints', { key: app.key });
    assert.equal(list.body.data.length, 0);

    // The dashboard takes admin and support keys only.
    assert.equal((await post('/dashboard/login', { key: app.key })).status, 403);
    assert.equal((await post('/dashboard/login', { key: 'tern_key_nope' })).status, 401);
    const admin = await post('/dashboard/login', { key: ADMIN_KEY });
    assert.equal(admin.status, 303);

    // Revoking a support key ends its dashboard session at once.
    const sk = await stack.api.request('POST', '/v1/support-keys', {
      key: ADMIN_KEY,
      body: { name: 'revoked' },
    });
    const signedIn = await post('/dashboard/login', { key: sk.body.key });
    const dash = signedIn.headers.getSetCookie()[0].split(';')[0];
    const before = await fetch(`${base}/dashboard`, { headers: { cookie: dash }, redirect: 'manual' });
    assert.equal(before.status, 200);
    assert.match(before.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    await stack.api.request('POST', `/v1/support-keys/${sk.body.id}/revoke`, { key: ADMIN_KEY });
    const afterRevoke = await fetch(`${base}/dashboard`, { headers: { cookie: dash }, redirect: 'manual' });
    assert.equal(afterRevoke.status, 303);
    assert.match(afterRevoke.headers.get('location') ?? '', /^\/dashboard\/login/);
  });
  it('a portal link opens once; its session ends at the link expiry, on a key revoke and when the admin asks', async () => {
    const app = await stack.api.createApplication('Pied Piper');
    const enter = async (token: string) => {
      const r = await post('/portal/enter', { token });
      const set = r.headers.getSetCookie().find((c) => c.startsWith('tern_portal='));
      return {
        status: r.status,
        cookie: set?.split(';')[0],
        maxAge: Number(/Max-Age=(\d+)/.exec(set ?? '')?.[1]),
      };
    };
    const portalStatus = async (cookie: string) =>
      (await fetch(`${base}/portal`, { headers: { cookie }, redirect: 'manual' })).status;
    const freshLink = async () => (await portalLink(app.key)).split('#token=')[1];

    // Single use: the second open of the same link is refused, and starts no session.
    const token = await freshLink();
    const first = await enter(token);
    assert.equal(first.status, 303);
    assert.equal(await portalStatus(first.cookie!), 200);
    const second = await enter(token);
    assert.equal(second.status, 410);
    assert.equal(second.cookie, undefined);

    // The session lasts no longer than the link: a link expiring in 120 s gives a cookie of at most 120 s.
    const short = makePortalLinkToken(
      deriveWebKey(TEST_ENV, 'portal-link'),
      app.id,
      new Date(Date.now() + 120_000),
    );
    const shortSession = await enter(short);
    assert.equal(shortSession.status, 303);
    assert.ok(shortSession.maxAge > 0 && shortSession.maxAge <= 120, `Max-Age ${shortSession.maxAge}`);

    // The admin ends every portal session of the application.
    const r = await stack.api.request('POST', `/v1/applications/${app.id}/portal-sessions/revoke`, {
      key: ADMIN_KEY,
    });
    assert.equal(r.status, 204);
    assert.equal(await portalStatus(first.cookie!), 401);
    assert.equal(await portalStatus(shortSession.cookie!), 401);

    // Revoking one of the application's API keys ends them too.
    const third = await enter(await freshLink());
    assert.equal(await portalStatus(third.cookie!), 200);
    const extra = await stack.api.request('POST', `/v1/applications/${app.id}/api-keys`, {
      key: ADMIN_KEY,
      body: { name: 'leaked' },
    });
    const revoked = await stack.api.request(
      'POST',
      `/v1/applications/${app.id}/api-keys/${extra.body.id}/revoke`,
      { key: ADMIN_KEY },
    );
    assert.deepEqual(revoked.body, { revoked: true });
    assert.equal(await portalStatus(third.cookie!), 401);
    // Another application's portal is untouched by all of this.
    const other = await stack.api.createApplication('Hooli XYZ');
    const theirs = await enter((await portalLink(other.key)).split('#token=')[1]);
    assert.equal(await portalStatus(theirs.cookie!), 200);
  });
});
