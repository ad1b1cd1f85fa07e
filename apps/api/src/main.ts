import 'reflect-metadata';
import { preflight, runMain } from '@tern/database';
import { browserUrl, READY_MESSAGE_TYPE, signalReady } from '@tern/observability';
import { AddressInfo } from 'node:net';
import { createApiApp } from './bootstrap';

runMain('tern api', async () => {
  const config = await preflight();
  const app = await createApiApp(config);
  await app.listen(config.PORT, config.HOST);
  const { port } = app.getHttpServer().address() as AddressInfo; // PORT=0: the one the system picked
  console.log(`tern api listening on http://${config.HOST}:${port} (docs at /docs)`);
  const url = browserUrl(config.PUBLIC_URL, config.HOST, port);
  signalReady({ type: READY_MESSAGE_TYPE, role: 'api', url, pid: process.pid });
});
