import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedPostgres } from '../embedded/embedded-postgres.js';
import { connectDatabase, migrateLatest } from '../stores/database.js';
import { applyCatalog } from '../catalog/catalog.js';
import { freePort } from '../test/helpers/ports.js';
import { createErrorStore } from '../stores/error-store.js';

const pg = await startEmbeddedPostgres({ dataDir: mkdtempSync(join(tmpdir(), 'herald-st-')), port: await freePort(), persistent: false });
const db = connectDatabase(pg.adminUrl, { max: 5 });
await migrateLatest(db);
await applyCatalog(db, { accounts: [{ id: 'a', name: 'A' }], users: [], environments: [{ id: 'e', account: 'a', name: 'E', production: true }], integrations: [{ id: 'i', environment: 'e', name: 'I' }], flows: [{ id: 'f', integration: 'i', name: 'F', autoResolve: true }], subscriptions: [] } as never);
const store = createErrorStore(db);
const t = async (label: string, work: () => Promise<unknown>) => { const s = performance.now(); await work(); console.log(label, (performance.now() - s).toFixed(0), 'ms'); };
await db.raw('create table copy_all (like errors including all)');
for (let round = 1; round <= 3; round++) {
  const errors = Array.from({ length: 10_000 }, (_, i) => ({ traceKey: `rec-${i}`, message: `Record ${i} rejected by the target`, code: 'VALIDATION' }));
  await t(`round ${round} storeReport`, () => store.storeReport({ environment: 'e', flow: 'f', reportId: `r${round}`, errors }, new Date()));
  await t(`round ${round} raw unnest into copy with all indexes`, () => db.raw(
    `insert into copy_all (environment_id, flow_id, report_id, error_key, trace_key, message, code, status, occurred_at)
     select 'e', 'f', ?, k, t, m, c, 'open', now() from unnest(?::text[], ?::text[], ?::text[], ?::text[]) as r(k, t, m, c)`,
    [`raw-${round}`, errors.map((_, i) => `raw-${round}-${i}`), errors.map((e) => e.traceKey), errors.map((e) => e.message), errors.map((e) => e.code)]));
}
await db.destroy();
await pg.stop();
