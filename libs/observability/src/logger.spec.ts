import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createLogger } from './logger';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { lines, logger: createLogger('trace', 'test', stream) };
}

describe('createLogger', () => {
  it('redacts keys, secrets, signatures and cookies wherever pino-http or a caller puts them', () => {
    const { lines, logger } = capture();
    logger.info(
      {
        req: {
          url: '/v1/endpoints',
          headers: {
            authorization: 'Bearer tern_key_x.SECRET1',
            cookie: 'tern_session=SECRET2',
            'webhook-signature': 'v1,SECRET3',
          },
        },
        res: { statusCode: 200, headers: { 'set-cookie': ['tern_session=SECRET4; HttpOnly'] } },
        endpoint: { secret: 'whsec_SECRET5', headers: { authorization: 'Bearer SECRET6' } },
        created: { apiKey: 'SECRET7', key: 'SECRET8', signature: 'SECRET9' },
      },
      'request completed',
    );
    assert.equal(lines.length, 1);
    assert.doesNotMatch(lines[0], /SECRET\d/);
    const line = JSON.parse(lines[0]) as { req: { url: string; headers: Record<string, string> } };
    assert.equal(line.req.url, '/v1/endpoints');
    assert.equal(line.req.headers.authorization, '[redacted]');
  });

  it('honours the level', () => {
    const { lines, logger } = capture();
    logger.level = 'warn';
    logger.info('quiet');
    logger.warn('loud');
    assert.deepEqual(
      lines.map((l) => (JSON.parse(l) as { msg: string }).msg),
      ['loud'],
    );
  });
});
