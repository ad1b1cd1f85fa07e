import 'reflect-metadata';
import { preflight, runMain } from '@tern/database';
import { createApiApp } from './bootstrap';

runMain('tern api', async () => {
  const config = await preflight();
  const app = await createApiApp(config);
  await app.listen(config.PORT, config.HOST);
  console.log(`tern api listening on http://${config.HOST}:${config.PORT} (docs at /docs)`);
});
