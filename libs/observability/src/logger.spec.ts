import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createLogger, LogFormat, PinoNestLogger, resolveLogFormat } from './logger';

function capture(format: LogFormat = 'json', level = 'trace') {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { lines, logger: createLogger(level, 'test', { format, destination: stream }) };
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

describe('LOG_FORMAT', () => {
  it('auto is pretty on a terminal and JSON anywhere else; json and pretty are taken as given', () => {
    assert.equal(resolveLogFormat('auto', true), 'pretty');
    assert.equal(resolveLogFormat('auto', false), 'json');
    assert.equal(resolveLogFormat('json', true), 'json');
    assert.equal(resolveLogFormat('pretty', false), 'pretty');
  });

  it('pretty writes one readable line per log: time, level, name, context, message; secrets still redacted', () => {
    const { lines, logger } = capture('pretty');
    logger.info({ context: 'NestApplication' }, 'Nest application successfully started');
    logger.warn({ endpoint: { secret: 'whsec_SECRET1' } }, 'endpoint\nsecret');
    logger.info(
      {
        req: { method: 'POST', url: '/v1/events', headers: { authorization: 'Bearer SECRET2' } },
        res: { statusCode: 201 },
        responseTime: 12,
      },
      'request completed',
    );
    const text = lines.join('');
    assert.doesNotMatch(text, /SECRET\d/);
    const out = text.trimEnd().split('\n');
    assert.equal(out.length, 3, text);
    assert.match(
      out[0],
      /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO.*: test \[NestApplication\] Nest application successfully started$/,
    );
    assert.match(out[1], /WARN.*: test endpoint\\nsecret /);
    assert.match(out[1], /\[redacted\]/);
    assert.match(out[2], /INFO.*: test POST \/v1\/events 201 12 ms$/);
    for (const line of out) assert.throws(() => JSON.parse(line) as unknown);
  });
});

describe('PinoNestLogger', () => {
  it("logs Nest's per-module and per-route start-up lines at debug, everything else at info", () => {
    const { lines, logger } = capture('json', 'debug');
    const nest = new PinoNestLogger(logger);
    nest.log('Mapped {/v1/events, POST} route', 'RouterExplorer');
    nest.log('EventsController {/v1/events}:', 'RoutesResolver');
    nest.log('ApiModule dependencies initialized', 'InstanceLoader');
    nest.log('Nest application successfully started', 'NestApplication');
    const levels = lines.map((l) => (JSON.parse(l) as { level: number; context: string }).level);
    assert.deepEqual(levels, [20, 20, 20, 30]);
    logger.level = 'info';
    nest.log('Mapped {/v1/events, POST} route', 'RouterExplorer');
    assert.equal(lines.length, 4);
  });
});
