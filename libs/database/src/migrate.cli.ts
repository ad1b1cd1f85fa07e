import { AppConfig } from '@tern/config';
import { checkPostgres } from './dependency-check';
import { ensureDatabase, migrate } from './migrator';

/** `npm run db:migrate`: creates the database if needed and applies pending migrations. Needs only DATABASE_URL. */
async function main(): Promise<void> {
  const url = process.env.DATABASE_URL || new AppConfig().DATABASE_URL;
  await checkPostgres(url);
  if (await ensureDatabase(url)) console.log(`created database ${new URL(url).pathname.slice(1)}`);
  const r = await migrate(url);
  console.log(`migrations: ${r.applied.length} applied, ${r.alreadyApplied.length} already applied`);
  for (const name of r.applied) console.log(`  applied ${name}`);
}

main().catch((err: Error) => {
  console.error(err.message);
  process.exit(1);
});
