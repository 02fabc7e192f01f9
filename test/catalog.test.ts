import { beforeEach, describe, expect, it } from 'vitest';
import { readFile, writeFile } from 'node:fs/promises';
import { tempFolder } from './helpers/temp.js';
import { join } from 'node:path';
import { readCatalogFile } from '../catalog/catalog-file.js';
import fc from 'fast-check';
import { parse } from 'yaml';
import { applyCatalog, lockCatalog } from '../catalog/catalog.js';
import { createDigestStore } from '../stores/digest-store.js';
import { createTestWorld } from './helpers/world.js';
import { CatalogError } from '../catalog/catalog-error.js';
import { createTestDatabase } from './helpers/database.js';

const tables = ['subscriptions', 'flow_connections', 'flows', 'integrations', 'connections', 'environments', 'users', 'accounts'];

describe('herald catalog apply', async () => {
  const { db } = await createTestDatabase();
  const sample = parse(await readFile(new URL('../examples/catalog.yaml', import.meta.url), 'utf8'));
  const rowCounts = async () =>
    Object.fromEntries(await Promise.all(tables.map(async (t) => [t, Number((await db(t).count({ n: '*' }))[0]!.n)])));

  beforeEach(async () => {
    await db.raw(`truncate ${tables.join(', ')} restart identity cascade`);
  });

  it('applies the sample catalog, and applying it twice changes nothing', async () => {
    const first = await applyCatalog(db, sample);
    expect(first.flows).toBe(4);
    const after = await rowCounts();
    expect(after).toMatchObject({ accounts: 1, users: 3, environments: 3, flows: 4, connections: 4 });

    const second = await applyCatalog(db, sample);
    expect(Object.values(second).every((n) => n === 0)).toBe(true);
    expect(await rowCounts()).toEqual(after);
  });

  it('refreshes the planner statistics of the tables it changed', async () => {
    const estimate = async () =>
      (await db.raw(`select reltuples::int as n from pg_class where relname = 'users'`)).rows[0].n as number;
    expect(await estimate()).toBeLessThanOrEqual(0);
    await applyCatalog(db, sample);
    expect(await estimate()).toBe(3);
  });

  it('puts a legacy production/sandbox pair in one resource group, and leaves staging apart', async () => {
    await applyCatalog(db, sample);
    const groups = Object.fromEntries(
      (await db('environments').select('id', 'resource_group')).map((e) => [e.id, e.resource_group]),
    );
    expect(groups).toEqual({
      'acme-production': 'acme-production',
      'acme-sandbox': 'acme-production',
      'acme-staging': 'acme-staging',
    });
  });

  it('refuses a broken catalog whole, naming each problem by its path, and writes nothing', async () => {
    const broken = structuredClone(sample);
    broken.flows[3].integration = 'crm';
    broken.users[1].role = 'superuser';
    broken.subscriptions[3].flows = ['orders-to-erp'];
    broken.environments.push({ id: 'Bad Id', account: 'acme', name: 'x', production: false });

    const error = await applyCatalog(db, broken).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CatalogError);
    const problems = (error as CatalogError).problems.map((p) => `${p.field}: ${p.message}`);
    expect(problems).toEqual(
      expect.arrayContaining([
        'flows[3].integration: unknown integration "crm"',
        expect.stringMatching(/^users\[1\]\.role: must be one of owner, admin, manage, monitor/),
        'subscriptions[3].flows[0]: flow "orders-to-erp" is not in environment "acme-staging"',
        expect.stringMatching(/^environments\[3\]\.id: must be an id/),
      ]),
    );
    expect(Object.values(await rowCounts()).every((n) => n === 0)).toBe(true);
  });

  it('S31: refuses a reminder threshold that is no duration, or under a minute', async () => {
    const environments = ['30s', 'soon'].map((remindAfter, i) => ({ id: `env-${i}`, account: 'acme', name: 'x', production: false, remindAfter }));
    const error = (await applyCatalog(db, { accounts: [{ id: 'acme', name: 'Acme' }], environments }).catch((e: unknown) => e)) as CatalogError;
    expect(error.problems.map((p) => `${p.field}: ${p.message}`)).toEqual([
      'environments[0].remindAfter: must be a duration of at least 1 minute, such as "3 days" or "12h"',
      'environments[1].remindAfter: must be a duration of at least 1 minute, such as "3 days" or "12h"',
    ]);
  });

  it('S17: refuses a subscription to a flow of another account', async () => {
    await applyCatalog(db, sample);
    const other = {
      accounts: [{ id: 'globex', name: 'Globex' }],
      users: [{ account: 'globex', email: 'ops@globex.example', role: 'admin' }],
      environments: [{ id: 'globex-production', account: 'globex', name: 'Production', production: true }],
      subscriptions: [{ environment: 'globex-production', user: 'ops@globex.example', flows: ['orders-to-erp'] }],
    };
    const error = (await applyCatalog(db, other).catch((e: unknown) => e)) as CatalogError;
    expect(error.problems).toEqual([
      { field: 'subscriptions[0].flows[0]', message: 'flow "orders-to-erp" belongs to another account' },
    ]);
    expect(await db('accounts').where({ id: 'globex' }).first()).toBeUndefined();
  });

  it('removes subscriptions no longer listed and marks removed users', async () => {
    await applyCatalog(db, sample);
    const changed = structuredClone(sample);
    changed.subscriptions[0].integrations = ['shop-to-erp'];
    changed.users[2].removed = true;
    changed.subscriptions.splice(1, 1);
    await applyCatalog(db, changed);
    const integrationSubs = await db('subscriptions').whereNotNull('integration_id').where({ environment_id: 'acme-production' });
    expect(integrationSubs.map((s) => s.integration_id)).toEqual(['shop-to-erp']);
    const removed = await db('users').where({ email: 'fulfillment-center@acme.example' }).first('removed_at');
    expect(removed.removed_at).toBeInstanceOf(Date);
    expect(Object.values(await applyCatalog(db, changed)).every((n) => n === 0)).toBe(true);
  });

  it('reads a JSON catalog that starts with a UTF-8 byte-order mark, as Windows editors write it', async () => {
    const file = join(await tempFolder('bom'), 'catalog.json');
    await writeFile(file, `\uFEFF${JSON.stringify(sample)}`, 'utf8');
    await applyCatalog(db, await readCatalogFile(file));
    expect(await rowCounts()).toMatchObject({ accounts: 1, flows: 4 });
  });

  it('S35, S37: generated catalogs are stored and read back exactly, or refused at named paths; never a crash or SQL text', async () => {
    const name = fc.string({ unit: fc.oneof(fc.constantFrom('\u0000', '\ud800', '\n', '\u0085', '\u202e', 'é', '😀', '<', "'"), fc.string({ minLength: 1, maxLength: 1 })), maxLength: 10 });
    const email = fc.oneof(fc.constantFrom('ana@acme.example', 'grp:evil@evil.example', 'a(b)@acme.example', 'Ana <ana@acme.example>'), name);
    let run = 0;
    await fc.assert(
      fc.asyncProperty(name, name, email, fc.constantFrom('owner', 'monitor', 'root', 7), async (accountName, environmentName, userEmail, role) => {
        run += 1;
        const account = `gen-${run}`;
        const catalog = {
          accounts: [{ id: account, name: accountName }],
          users: [{ account, email: userEmail, role }],
          environments: [{ id: `${account}-prod`, account, name: environmentName, production: true }],
        };
        const outcome = await applyCatalog(db, catalog).then(
          () => undefined,
          (error: unknown) => error,
        );
        if (outcome === undefined) {
          expect(await db('accounts').where({ id: account }).first('name')).toEqual({ name: accountName });
          expect(await db('environments').where({ id: `${account}-prod` }).first('name')).toEqual({ name: environmentName });
          expect(await db('users').where({ account_id: account }).pluck('email')).toEqual([String(userEmail).toLowerCase()]);
          return;
        }
        expect(outcome).toBeInstanceOf(CatalogError);
        for (const p of (outcome as CatalogError).problems) {
          // The entry at fault, or one that names an entry refused with it (an account not written).
          expect(p.field).toMatch(/^(accounts\[0\]\.name|users\[0\]\.(email|role|account)|environments\[0\]\.(name|account))$/);
          expect(p.message).not.toMatch(/insert into|select |TypeError/i);
        }
        expect(await db('accounts').where({ id: account }).first()).toBeUndefined();
      }),
      { numRuns: 60 },
    );
  });
});

describe('a catalog applied while a cycle is fixed', async () => {
  const { db } = await createTestDatabase();
  await createTestWorld(db);

  it('neither deadlocks: a cycle being fixed and a catalog being applied wait for each other in turn (a sync beside a running digest)', async () => {
    await db('errors').insert({ environment_id: 'prod', flow_id: 'orders', trace_key: 'SO-lock', message: 'Failure', status: 'open', report_id: 'lock-1', error_key: 'lock-1', occurred_at: new Date() });
    // What applyCatalog does in its transaction: the catalog's lock, then its upserts lock the
    // users' rows (ON CONFLICT DO UPDATE locks each row it meets, FOR UPDATE), then the environments'.
    const apply = await db.transaction();
    await lockCatalog(apply);
    await apply.raw(`select id from users where account_id = 'acme' for update`);
    const fixing = createDigestStore(db).fixCycle('prod', 1);
    // Until the fix waits for a lock (the catalog's, or a user's row), in this file's database:
    // the other files' databases share the server.
    await expect.poll(async () => (await db.raw(`select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database()`)).rows[0].n, { timeout: 10_000 }).toBe(1);
    await apply.raw(`select id from environments where id = 'prod' for update`);
    await apply.commit();
    await expect(fixing).resolves.toMatchObject({ number: 1, newCount: 1, deliveryCount: 2 });
  });
});

describe('S43: channels in the catalog', async () => {
  const { db } = await createTestDatabase();
  await createTestWorld(db);
  const secret = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
  const channels = [
    { account: 'acme', name: 'ops-slack', kind: 'slack', url: 'https://hooks.slack.com/services/T0/B0/x' },
    { account: 'acme', name: 'platform', kind: 'webhook', url: 'https://events.acme.example/herald', secret },
  ];
  const refusal = async (catalog: unknown) => {
    const error = await applyCatalog(db, catalog).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CatalogError);
    return (error as CatalogError).problems;
  };

  it('S43: a catalog makes channels and sends subscriptions to them; applied again it changes nothing', async () => {
    const catalog = {
      channels,
      subscriptions: [{ environment: 'prod', user: 'orders-team@acme.test', flows: ['orders'], target: { email: false, channel: 'ops-slack' } }],
    };
    expect(await applyCatalog(db, catalog)).toMatchObject({ channels: 2, subscription_targets: 1 });
    const again = await applyCatalog(db, catalog);
    expect(again.channels ?? 0).toBe(0);
    expect(again.subscription_targets ?? 0).toBe(0);
    expect(await db('channels').orderBy('name').select('name', 'kind', 'secret')).toEqual([
      { name: 'ops-slack', kind: 'slack', secret: null },
      { name: 'platform', kind: 'webhook', secret },
    ]);
    const team = await db('users').where({ email: 'orders-team@acme.test' }).first('id');
    expect(await db('subscription_targets').where({ user_id: team.id }).first('email', 'chosen_on_page')).toEqual({ email: false, chosen_on_page: false });
    // A choice on the settings page stands.
    await db('subscription_targets').where({ user_id: team.id }).update({ chosen_on_page: true, email: true });
    expect(await applyCatalog(db, catalog)).toMatchObject({ 'targets kept as chosen in settings': 1 });
    expect(await db('subscription_targets').where({ user_id: team.id }).first('email')).toEqual({ email: true });
  });

  it('S43: a catalog\'s channel is refused at its path: a private address, plain HTTP, a changed kind, a secret where none belongs or missing, an unknown account or channel; nothing is written', async () => {
    const before = await db('channels').count({ n: '*' }).first();
    expect(
      await refusal({
        channels: [
          { account: 'acme', name: 'inside', kind: 'slack', url: 'https://192.168.1.10/hook' },
          { account: 'acme', name: 'plain', kind: 'teams', url: 'http://teams.example.com/x' },
          { account: 'acme', name: 'ops-slack', kind: 'teams', url: 'https://hooks.slack.com/services/T0/B0/x' },
          { account: 'acme', name: 'secretive', kind: 'slack', url: 'https://hooks.slack.com/x', secret },
          { account: 'acme', name: 'new-hook', kind: 'webhook', url: 'https://events.acme.example/x' },
          { account: 'nobody', name: 'orphan', kind: 'slack', url: 'https://hooks.slack.com/y' },
        ],
        subscriptions: [{ environment: 'prod', user: 'ops@acme.test', integrations: ['shop'], target: { email: true, channel: 'nowhere' } }],
      }),
    ).toEqual([
      { field: 'channels[0].url', message: 'must not point at a private, loopback or reserved address (192.168.1.10)' },
      { field: 'channels[1].url', message: 'must use https://' },
      { field: 'channels[2].kind', message: 'channel "ops-slack" is a slack channel' },
      { field: 'channels[3].secret', message: 'a slack channel has no secret' },
      { field: 'channels[4].secret', message: 'a new webhook channel needs its secret ("whsec_…")' },
      { field: 'channels[5].account', message: 'unknown account "nobody"' },
    ]);
    expect(await refusal({ subscriptions: [{ environment: 'prod', user: 'ops@acme.test', integrations: ['shop'], target: { email: true, channel: 'nowhere' } }] })).toEqual([
      { field: 'subscriptions[0].target.channel', message: 'no channel "nowhere" in this account' },
    ]);
    expect(await refusal({ channels: [{ account: 'acme', name: 'bad name!', kind: 'fax', url: 'https://x.example' }] })).toEqual([
      { field: 'channels[0].name', message: expect.stringMatching(/letters, digits/) },
      { field: 'channels[0].kind', message: 'must be one of slack, teams, webhook, pagerduty' },
    ]);
    // A secret is judged by its channel's kind.
    expect(await refusal({ channels: [{ account: 'acme', name: 'weak-hook', kind: 'webhook', url: 'https://x.example', secret: 'hunter2' }] })).toEqual([
      { field: 'channels[0].secret', message: expect.stringMatching(/Standard Webhooks secret/) },
    ]);
    expect(await db('channels').count({ n: '*' }).first()).toEqual(before);
  });
});
