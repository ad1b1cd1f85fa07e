import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AppConfig } from '@tern/config';
import { DeliveriesRepository } from '@tern/core';
import { PrismaService } from '@tern/database';
import { Client } from 'pg';
import { createScratchDatabase, sql } from '../support/scratch-db';

/**
 * The delivery detail (GET /v1/deliveries/:id, the dashboard's delivery page) reads the delivery and its attempts
 * as of one moment, while workers record attempts.
 */
describe('delivery detail: one snapshot (repository on a real database)', () => {
  let url: string;
  let drop: () => Promise<void>;
  let prisma: PrismaService;
  let repo: DeliveriesRepository;

  before(async () => {
    ({ url, drop } = await createScratchDatabase('delivery_detail'));
    prisma = new PrismaService({ DATABASE_URL: url, DATABASE_POOL_SIZE: 2 } as AppConfig);
    repo = new DeliveriesRepository(prisma);
  });
  after(async () => {
    await prisma?.$disconnect();
    await drop?.();
  });

  it('never shows attempts the delivery has not counted (a record committing between its reads)', async () => {
    const [{ app }] = await sql<{ app: string }>(
      url,
      `INSERT INTO applications (name) VALUES ('d') RETURNING id AS app`,
    );
    const [{ ep }] = await sql<{ ep: string }>(
      url,
      `INSERT INTO endpoints (application_id, url) VALUES ($1, 'https://r.example.com/') RETURNING id AS ep`,
      [app],
    );
    const [{ ev }] = await sql<{ ev: string }>(
      url,
      `INSERT INTO events (application_id, event_type, payload) VALUES ($1, 't', '{}') RETURNING id AS ev`,
      [app],
    );
    const [{ dlv }] = await sql<{ dlv: string }>(
      url,
      `INSERT INTO deliveries (application_id, event_id, endpoint_id, event_type, deadline_at)
       VALUES ($1, $2, $3, 't', now() + interval '1 day') RETURNING id AS dlv`,
      [app, ev, ep],
    );
    // A writer that records attempts as the worker does: the attempt and the delivery's count in one transaction.
    const writer = new Client({ connectionString: url });
    await writer.connect();
    let stop = false;
    const writing = (async () => {
      for (let n = 1; !stop && n <= 5000; n++) {
        await writer.query(
          `WITH a AS (
             INSERT INTO attempts (delivery_id, application_id, endpoint_id, event_id, number, started_at, url, outcome)
             VALUES ($1, $2, $3, $4, $5, now(), 'https://r.example.com/', 'retrying')
           )
           UPDATE deliveries SET attempt_count = $5 WHERE id = $1`,
          [dlv, app, ep, ev, n],
        );
      }
    })();
    try {
      let torn = 0;
      let reads = 0;
      for (; reads < 300; reads++) {
        const d = await repo.findDeliveryDetail({}, dlv);
        assert.ok(d);
        if (d.attempts.length !== d.delivery.attemptCount) torn++;
      }
      assert.equal(torn, 0, `${torn} of ${reads} reads showed attempts the delivery had not counted`);
    } finally {
      stop = true;
      await writing;
      await writer.end();
    }
  });
});
