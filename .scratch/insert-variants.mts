import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedPostgres } from '../embedded/embedded-postgres.js';
import { connectDatabase, migrateLatest } from '../stores/database.js';
import { applyCatalog } from '../catalog/catalog.js';
import { freePort } from '../test/helpers/ports.js';

const pg = await startEmbeddedPostgres({ dataDir: mkdtempSync(join(tmpdir(), 'herald-st-')), port: await freePort(), persistent: false });
const db = connectDatabase(pg.adminUrl, { max: 5 });
await migrateLatest(db);
await applyCatalog(db, { accounts: [{ id: 'a', name: 'A' }], users: [], environments: [{ id: 'e', account: 'a', name: 'E', production: true }], integrations: [{ id: 'i', environment: 'e', name: 'I' }], flows: [{ id: 'f', integration: 'i', name: 'F', autoResolve: true }], subscriptions: [] } as never);
const t = async (label: string, work: () => Promise<unknown>) => { const s = performance.now(); await work(); console.log(label, (performance.now() - s).toFixed(0), 'ms'); };
const cols = (n: number, tag: string) => {
  const keys = Array.from({ length: n }, (_, i) => `${tag}-${i}`);
  return { keys, traces: keys.map((_, i) => `rec-${i}`), messages: keys.map((_, i) => `Record ${i} rejected by the target`), codes: keys.map(() => 'VALIDATION') };
};
for (let round = 1; round <= 3; round++) {
  {
    const c = cols(10_000, `j${round}`);
    const rows = c.keys.map((k, i) => ({ error_key: k, trace_key: c.traces[i], message: c.messages[i], code: c.codes[i], step: null, intermittent: false, record: null, status: 'open', occurred_at: new Date().toISOString() }));
    await t('V1 json_to_recordset + on conflict + returning', () => db.raw(`insert into errors (environment_id, flow_id, report_id, reported_at, error_key, trace_key, message, code, step, intermittent, record, status, occurred_at)
      select 'e','f',?, now(), r.error_key, r.trace_key, r.message, r.code, r.step, r.intermittent, r.record, r.status, r.occurred_at
      from json_to_recordset(?::json) as r(error_key text, trace_key text, message text, code text, step text, intermittent boolean, record jsonb, status text, occurred_at timestamptz)
      on conflict (environment_id, flow_id, error_key) do nothing returning id, error_key, trace_key, status`, [`j${round}`, JSON.stringify(rows)]));
  }
  {
    const c = cols(10_000, `u${round}`);
    await t('V2 unnest + on conflict + returning', () => db.raw(`insert into errors (environment_id, flow_id, report_id, reported_at, error_key, trace_key, message, code, status, occurred_at)
      select 'e','f',?, now(), k, t, m, c, 'open', now() from unnest(?::text[], ?::text[], ?::text[], ?::text[]) as r(k, t, m, c)
      on conflict (environment_id, flow_id, error_key) do nothing returning id, error_key, trace_key, status`, [`u${round}`, c.keys, c.traces, c.messages, c.codes]));
  }
  {
    const c = cols(10_000, `a${round}`);
    await t('V3 unnest + anti-join + returning', () => db.raw(`insert into errors (environment_id, flow_id, report_id, reported_at, error_key, trace_key, message, code, status, occurred_at)
      select 'e','f',?, now(), k, t, m, c, 'open', now() from unnest(?::text[], ?::text[], ?::text[], ?::text[]) as r(k, t, m, c)
      where not exists (select 1 from errors x where x.environment_id = 'e' and x.flow_id = 'f' and x.error_key = r.k)
      returning id, trace_key, status`, [`a${round}`, c.keys, c.traces, c.messages, c.codes]));
  }
  {
    const c = cols(10_000, `n${round}`);
    await t('V4 unnest, no conflict handling, no returning', () => db.raw(`insert into errors (environment_id, flow_id, report_id, reported_at, error_key, trace_key, message, code, status, occurred_at)
      select 'e','f',?, now(), k, t, m, c, 'open', now() from unnest(?::text[], ?::text[], ?::text[], ?::text[]) as r(k, t, m, c)`, [`n${round}`, c.keys, c.traces, c.messages, c.codes]));
  }
}
await db.destroy();
await pg.stop();
