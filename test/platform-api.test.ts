/**
 * S40: the platform keeps Herald in step over HTTP, on the real stack (the server as `npm run
 * server` builds it, PostgreSQL, a Herald worker): entities put by the platform's ids, read,
 * listed and removed; ownership across accounts; scoped tokens; versions (ETag, If-Match); the
 * audit of who changed what.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { startFixture } from './helpers/fixture.js';
import { startServer } from './helpers/server.js';
import { Validator } from '@seriousme/openapi-schema-validator';
import { apiPrefix, apiRoutes } from '../server/api.js';
import { createTokenStore } from '../stores/token-store.js';
import { userRoles } from '../contracts/catalog.js';
import { environmentDigestWorkflowId } from '../workflows/workflow-ids.js';
import { HeraldInputError, HeraldPlatform, HeraldVersionConflict } from '../client/index.js';

describe('S40: the platform API', async () => {
  const { db, herald } = await startFixture({
    also: [{ accounts: [{ id: 'globex', name: 'Globex' }], environments: [{ id: 'globex-prod', account: 'globex', name: 'Production', production: true }] }],
  });
  const server = await startServer({ db, temporal: herald.temporal, taskQueue: herald.taskQueue, variables: { HERALD_API_RATE: '100000' } });
  const tokens = createTokenStore(db);
  const platform = await tokens.create('acme', 'acme platform', ['read', 'manage']);
  const manager = platform.token;
  const globex = (await tokens.create('globex', 'globex platform')).token;

  const call = async (method: string, path: string, token: string | undefined, body?: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(`${server.url}${apiPrefix}${path}`, {
      method,
      headers: { ...(token && { authorization: `Bearer ${token}` }), ...(body !== undefined && { 'content-type': 'application/json' }), ...headers },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    return { status: response.status, etag: response.headers.get('etag'), body: (await response.json()) as Record<string, unknown> & { problems?: { field: string; message: string }[] } };
  };

  it('S40: each kind is put by its id, read back and listed; the same put twice changes nothing and answers the same', async () => {
    const puts: [string, Record<string, unknown>, Record<string, unknown>][] = [
      ['/environments/acme-eu', { name: 'EU', production: false, remindAfter: '2 days' }, { id: 'acme-eu', name: 'EU', production: false, remindAfterMs: 2 * 86_400_000 }],
      ['/integrations/eu-shop', { environment: 'acme-eu', name: 'EU shop' }, { id: 'eu-shop', environment: 'acme-eu', name: 'EU shop' }],
      ['/connections/eu-erp', { environment: 'acme-eu', name: 'EU ERP' }, { id: 'eu-erp', environment: 'acme-eu', name: 'EU ERP' }],
      ['/flows/eu-orders', { integration: 'eu-shop', name: 'EU orders', autoResolve: true, connections: ['eu-erp'] }, { id: 'eu-orders', integration: 'eu-shop', name: 'EU orders', autoResolve: true, taskQueue: null, connections: ['eu-erp'] }],
      ['/users/Dana@Acme.test', { name: 'Dana', role: 'manage' }, { email: 'dana@acme.test', name: 'Dana', role: 'manage', removed: false }],
    ];
    for (const [path, body, reads] of puts) {
      const created = await call('PUT', path, manager, body);
      expect(created, path).toMatchObject({ status: 201, body: reads });
      expect(created.etag).toMatch(/^"[\w-]{27}"$/);
      const again = await call('PUT', path, manager, body);
      expect(again, path).toEqual({ ...created, status: 200 });
      expect(await call('GET', path, manager)).toEqual({ ...created, status: 200 });
    }
    // The new environment's digest started with it: no worker start needed (#25).
    expect((await herald.temporal.workflow.getHandle('digest/acme-eu').describe()).status.name).toBe('RUNNING');
    // Listed by id, a page at a time.
    const first = await call('GET', '/environments?limit=2', manager);
    expect(first.body.environments).toHaveLength(2);
    const rest = await call('GET', String(first.body.next).slice(apiPrefix.length), manager);
    const ids = [...(first.body.environments as { id: string }[]), ...(rest.body.environments as { id: string }[])].map((e) => e.id);
    expect(ids).toEqual(['acme-eu', 'prod', 'staging']);
    // Only what changed is recorded, with the token that changed it.
    const audit = (await call('GET', '/audit?limit=5', manager)).body.events as { actor: string; action: string; kind: string; entity: string }[];
    expect(audit.map((e) => `${e.action} ${e.kind} ${e.entity}`)).toEqual([
      'created users dana@acme.test',
      'created flows eu-orders',
      'created connections eu-erp',
      'created integrations eu-shop',
      'created environments acme-eu',
    ]);
    expect(new Set(audit.map((e) => e.actor))).toEqual(new Set([`token ${platform.id} (acme platform)`]));
  });

  it("S40, S36: another account's id answers 409 at that path and never moves; another account's entity is not found", async () => {
    const before = await db('environments').where({ id: 'prod' }).first();
    expect(await call('PUT', '/environments/prod', globex, { name: 'Ours now', production: true })).toMatchObject({ status: 409 });
    expect(await call('PUT', '/connections/erp', globex, { environment: 'globex-prod', name: 'Ours now' })).toMatchObject({ status: 409 });
    expect(await db('environments').where({ id: 'prod' }).first()).toEqual(before);
    expect(await db('connections').where({ id: 'erp' }).first('account_id', 'name')).toEqual({ account_id: 'acme', name: 'ERP API' });
    expect((await call('GET', '/environments/prod', globex)).status).toBe(404);
    expect((await call('GET', '/users/ops@acme.test', globex)).status).toBe(404);
    expect((await call('GET', '/environments', globex)).body.environments).toEqual([expect.objectContaining({ id: 'globex-prod' })]);
    // A flow cannot be hung under another account's integration either: refused by name.
    const crossing = await call('PUT', '/flows/globex-flow', globex, { integration: 'shop', name: 'Crossing' });
    expect(crossing.status).toBe(400);
    expect(await db('flows').where({ id: 'globex-flow' }).first()).toBeUndefined();
  });

  it('S40: a token does what its scopes allow; a call outside them answers 403 and changes nothing', async () => {
    const reporter = (await tokens.create('acme', 'orders flow', ['report'])).token;
    const reader = (await tokens.create('acme', 'dashboard', ['read'])).token;
    const report = { environment: 'prod', flow: 'orders', reportId: 'scoped-1', errors: [{ traceKey: 'SC-1', message: 'Scoped' }] };
    expect((await call('POST', '/errors', reporter, report)).status).toBe(200);
    const [error] = await db('errors').where({ report_id: 'scoped-1' }).select('id');
    const resolve = { environment: 'prod', errorIds: [Number(error.id)], user: 'ops@acme.test' };
    for (const [method, path, token, body] of [
      ['GET', '/errors', reporter, undefined],
      ['POST', '/errors/resolve', reporter, resolve],
      ['POST', '/errors/resolve', reader, resolve],
      ['PUT', '/users/eve@acme.test', reader, { role: 'owner' }],
      ['PUT', '/users/eve@acme.test', reporter, { role: 'owner' }],
      ['POST', '/errors', reader, { ...report, reportId: 'scoped-2' }],
      ['PUT', '/accounts/acme', manager, { name: 'Renamed' }],
    ] as const) {
      const answer = await call(method, path, token, body);
      expect(answer.status, `${method} ${path}`).toBe(403);
      expect(String(answer.body.error)).toMatch(/^forbidden: .*nothing was done$/);
    }
    expect(await db('errors').where({ id: error.id }).first('status')).toEqual({ status: 'open' });
    expect(await db('users').where({ email: 'eve@acme.test' }).first()).toBeUndefined();
    expect(await db('errors').where({ report_id: 'scoped-2' }).first()).toBeUndefined();
    expect(await db('accounts').where({ id: 'acme' }).first('name')).toEqual({ name: 'Acme' });
    expect((await call('GET', '/errors?limit=1', reader)).status).toBe(200);
  });

  it("S40: an installation's token opens accounts and acts in the one it names", async () => {
    const installation = (await tokens.create({ installation: true }, 'the platform')).token;
    expect(await call('PUT', '/accounts/initech', installation, { name: 'Initech' })).toMatchObject({ status: 200, body: { id: 'initech', name: 'Initech' } });
    const named = { 'herald-account': 'initech' };
    expect(await call('PUT', '/environments/initech-prod', installation, { name: 'Production', production: true }, named)).toMatchObject({ status: 201 });
    expect(await call('PUT', '/users/peter@initech.test', installation, { role: 'owner' }, named)).toMatchObject({ status: 201 });
    expect(await db('environments').where({ id: 'initech-prod' }).first('account_id')).toEqual({ account_id: 'initech' });
    const unnamed = await call('GET', '/environments', installation);
    expect(unnamed).toMatchObject({ status: 400, body: { problems: [{ field: '(header) herald-account' }] } });
  });

  it('S40: a change names the version it read (If-Match): a stale one answers 412 and changes nothing; of two at once, one wins', async () => {
    const put = await call('PUT', '/users/kim@acme.test', manager, { role: 'monitor' });
    const version = put.etag!;
    const changed = await call('PUT', '/users/kim@acme.test', manager, { role: 'manage' }, { 'if-match': version });
    expect(changed).toMatchObject({ status: 200, body: { role: 'manage' } });
    expect(changed.etag).not.toBe(version);
    expect(await call('PUT', '/users/kim@acme.test', manager, { role: 'admin' }, { 'if-match': version })).toMatchObject({ status: 412 });
    expect(await db('users').where({ email: 'kim@acme.test' }).first('role')).toEqual({ role: 'manage' });
    // Two platform processes change the same user from the same version: one applies, the other is told.
    const both = await Promise.all(['admin', 'monitor'].map((role) => call('PUT', '/users/kim@acme.test', manager, { role }, { 'if-match': changed.etag! })));
    expect(both.map((answer) => answer.status).sort()).toEqual([200, 412]);
    const winner = both.find((answer) => answer.status === 200)!;
    expect(await call('GET', '/users/kim@acme.test', manager)).toMatchObject({ etag: winner.etag, body: { role: winner.body.role } });
  });

  it("S40, S38: removing a user cancels their pending emails and ends their sessions; they are listed as removed; a put brings them back", async () => {
    await call('PUT', '/users/lee@acme.test', manager, { role: 'manage' });
    const user = await db('users').where({ email: 'lee@acme.test' }).first('id');
    const [delivery] = await db('notifications')
      .insert({ kind: 'reminder', environment_id: 'prod', user_id: user.id, recipient: 'lee@acme.test', open_count: 1, flow_ids: ['orders'], planned_at: new Date() })
      .returning('id');
    await db('sessions').insert({ id: 'lee-session', data: JSON.stringify({ personId: Number(user.id) }), expires_at: new Date(Date.now() + 3_600_000) });
    const removed = await call('DELETE', '/users/lee@acme.test', manager);
    expect(removed).toMatchObject({ status: 200, body: { email: 'lee@acme.test', removed: true } });
    expect(await db('notifications').whereNull('channel_id').where({ id: delivery.id }).first('status')).toEqual({ status: 'cancelled' });
    expect(await db('sessions').where({ id: 'lee-session' }).first()).toBeUndefined();
    expect((await call('DELETE', '/users/nobody@acme.test', manager)).status).toBe(404);
    expect(await call('PUT', '/users/lee@acme.test', manager, { role: 'manage' })).toMatchObject({ status: 200, body: { removed: false } });
  });

  it('S40: an environment, integration, connection or flow removed takes no more reports or subscriptions; its errors stay readable; a put brings it back', async () => {
    await call('PUT', '/environments/acme-lab', manager, { name: 'Lab', production: false });
    await call('PUT', '/integrations/lab-shop', manager, { environment: 'acme-lab', name: 'Lab shop' });
    await call('PUT', '/connections/lab-erp', manager, { environment: 'acme-lab', name: 'Lab ERP' });
    await call('PUT', '/flows/lab-orders', manager, { integration: 'lab-shop', name: 'Lab orders', connections: ['lab-erp'] });
    await call('PUT', '/environments/acme-lab/subscriptions/ops@acme.test', manager, { flows: ['lab-orders'], connections: ['lab-erp'] });
    await herald.client.reportErrors({ environment: 'acme-lab', flow: 'lab-orders', errors: [{ traceKey: 'LAB-1', message: 'Before removal' }] });

    // The environment goes only once nothing lives in it.
    expect(await call('DELETE', '/environments/acme-lab', manager)).toMatchObject({ status: 409 });
    expect(await call('DELETE', '/flows/lab-orders', manager)).toMatchObject({ status: 200, body: { id: 'lab-orders', removed: true } });
    const refused = await herald.client.reportErrors({ environment: 'acme-lab', flow: 'lab-orders', errors: [{ traceKey: 'LAB-2', message: 'After removal' }] }).catch((error: unknown) => error);
    expect((refused as { problems: unknown }).problems).toEqual([{ field: 'flow', message: expect.stringContaining('lab-orders') }]);
    expect(await call('PUT', '/environments/acme-lab/subscriptions/ops@acme.test', manager, { flows: ['lab-orders'] })).toMatchObject({
      status: 400,
      body: { problems: [{ field: 'flows[0]', message: 'flow "lab-orders" was removed' }] },
    });
    expect((await call('GET', '/environments/acme-lab/subscriptions/ops@acme.test', manager)).body).toMatchObject({ flows: [], connections: ['lab-erp'] });
    // Its error is still there to read.
    const listed = await call('GET', '/errors?environment=acme-lab', manager);
    expect((listed.body.errors as { traceKey: string }[]).map((e) => e.traceKey)).toEqual(['LAB-1']);

    expect(await call('DELETE', '/connections/lab-erp', manager)).toMatchObject({ status: 200, body: { removed: true } });
    const offline = await herald.client.reportConnectionStatus({ environment: 'acme-lab', connection: 'lab-erp', status: 'offline' }).catch((error: unknown) => error);
    expect((offline as { problems: { field: string }[] }).problems[0]!.field).toBe('connection');
    expect(await call('DELETE', '/integrations/lab-shop', manager)).toMatchObject({ status: 200 });
    const labDigest = herald.temporal.workflow.getHandle(environmentDigestWorkflowId('acme-lab'));
    expect((await labDigest.describe()).status.name).toBe('RUNNING');
    expect(await call('DELETE', '/environments/acme-lab', manager)).toMatchObject({ status: 200, body: { removed: true } });
    // Its digest ends with it.
    await expect.poll(async () => (await labDigest.describe()).status.name, { timeout: 20_000 }).toBe('COMPLETED');
    expect(await call('PUT', '/integrations/lab-shop', manager, { environment: 'acme-lab', name: 'Lab shop' })).toMatchObject({
      status: 400,
      body: { problems: [{ field: 'environment', message: 'environment "acme-lab" was removed' }] },
    });

    // Put again, in order, each is back.
    expect(await call('PUT', '/environments/acme-lab', manager, { name: 'Lab', production: false })).toMatchObject({ status: 200, body: { removed: false } });
    expect((await labDigest.describe()).status.name).toBe('RUNNING');
    expect(await call('PUT', '/integrations/lab-shop', manager, { environment: 'acme-lab', name: 'Lab shop' })).toMatchObject({ status: 200, body: { removed: false } });
    expect(await call('PUT', '/flows/lab-orders', manager, { integration: 'lab-shop', name: 'Lab orders' })).toMatchObject({ status: 200, body: { removed: false } });
    await herald.client.reportErrors({ environment: 'acme-lab', flow: 'lab-orders', errors: [{ traceKey: 'LAB-3', message: 'Back' }] });
    expect((await call('DELETE', '/flows/nothing-here', manager)).status).toBe(404);
  });

  it("S40, S24: a user's subscriptions per environment are set, read and ended; a user's own choice on the settings page stands", async () => {
    const path = '/environments/prod/subscriptions/watcher@acme.test';
    const set = await call('PUT', path, manager, { flows: ['orders'], connections: ['erp'] });
    expect(set).toMatchObject({ status: 200, body: { environment: 'prod', user: 'watcher@acme.test', flows: ['orders'], integrations: [], connections: ['erp'], chosenByUser: false } });
    expect(await call('GET', path, manager)).toEqual(set);
    expect(await call('PUT', path, manager, { flows: ['nope'] })).toMatchObject({ status: 400, body: { problems: [{ field: 'flows[0]', message: 'unknown flow "nope"' }] } });
    expect(await call('DELETE', path, manager)).toMatchObject({ status: 200, body: { flows: [], connections: [] } });
    const chosen = await db('users').where({ email: 'orders-team@acme.test' }).first('id');
    await db('subscription_choices').insert({ user_id: chosen.id, environment_id: 'prod', chosen_by: chosen.id }).onConflict(['user_id', 'environment_id']).ignore();
    expect(await call('PUT', '/environments/prod/subscriptions/orders-team@acme.test', manager, { flows: [] })).toMatchObject({ status: 409 });
    expect(await db('subscriptions').where({ user_id: chosen.id, environment_id: 'prod' }).count({ n: '*' })).toEqual([{ n: 1 }]);
  });

  it("S41, S40: when a user's digests come is set, read and reset over the API; a bad rhythm is refused by field; a user's own choice on the settings page stands", async () => {
    const path = '/environments/prod/rhythms/watcher@acme.test';
    expect(await call('GET', path, manager)).toMatchObject({ status: 200, body: { every: 'cycle', timeZone: 'UTC', quietHours: null, chosenByUser: false } });
    const daily = { every: 'day', at: '08:00', timeZone: 'Europe/Berlin', quietHours: { from: '22:00', to: '07:00', connectionEmails: false } };
    const set = await call('PUT', path, manager, daily);
    expect(set).toMatchObject({ status: 200, body: { environment: 'prod', user: 'watcher@acme.test', ...daily, chosenByUser: false } });
    expect(await call('GET', path, manager)).toEqual(set);
    expect(await call('PUT', path, manager, { every: 'day', timeZone: 'Europe/Berlín' })).toMatchObject({
      status: 400,
      body: { problems: [{ field: 'timeZone', message: 'must be an IANA time zone such as "Europe/Berlin" or "UTC"' }, { field: 'at', message: 'is required for a daily digest' }] },
    });
    expect((await call('GET', path, manager)).body).toMatchObject(daily);
    expect(await call('DELETE', path, manager)).toMatchObject({ status: 200, body: { every: 'cycle', quietHours: null } });
    // The same rhythm put twice is one change in the account's audit.
    const audited = async () => Number((await db('audit_events').where({ kind: 'rhythm', entity: 'prod/watcher@acme.test' }).count({ n: '*' }))[0]!.n);
    const before = await audited();
    await call('PUT', path, manager, { every: 'hour' });
    await call('PUT', path, manager, { every: 'hour' });
    expect(await audited()).toBe(before + 1);
    const watcher = await db('users').where({ email: 'watcher@acme.test' }).first('id');
    await db('digest_rhythms').where({ user_id: watcher.id, environment_id: 'prod' }).update({ chosen_on_page: true });
    expect(await call('PUT', path, manager, daily)).toMatchObject({ status: 409 });
    await db('digest_rhythms').where({ user_id: watcher.id, environment_id: 'prod' }).delete();
  });

  it("S47, S40: a user's weekly review is set, read and reset over the API (a monitor's off, an admin's on by default); a bad one is refused by field; a user's own choice on the settings page stands", async () => {
    const path = '/environments/prod/weekly-reviews/watcher@acme.test';
    expect(await call('GET', path, manager)).toMatchObject({ status: 200, body: { on: false, day: 'monday', at: '08:00', timeZone: 'UTC', chosenByUser: false } });
    expect((await call('GET', '/environments/prod/weekly-reviews/ops@acme.test', manager)).body).toMatchObject({ on: true, day: 'monday', at: '08:00' });
    const set = await call('PUT', path, manager, { on: true, day: 'friday', at: '17:30' });
    expect(set).toMatchObject({ status: 200, body: { environment: 'prod', user: 'watcher@acme.test', on: true, day: 'friday', at: '17:30', chosenByUser: false } });
    expect(await call('GET', path, manager)).toEqual(set);
    expect(await call('PUT', path, manager, { on: 'yes', day: 'fri', at: '25:00' })).toMatchObject({
      status: 400,
      body: {
        problems: [
          { field: 'on', message: 'must be true or false' },
          { field: 'day', message: 'must be a day of the week: monday, tuesday, wednesday, thursday, friday, saturday, sunday' },
          { field: 'at', message: 'must be a time of day as HH:MM, from 00:00 to 23:59' },
        ],
      },
    });
    expect((await call('GET', path, manager)).body).toMatchObject({ on: true, day: 'friday', at: '17:30' });
    // Put twice, one change in the account's audit.
    const audited = async () => Number((await db('audit_events').where({ kind: 'weekly review', entity: 'prod/watcher@acme.test' }).count({ n: '*' }))[0]!.n);
    const before = await audited();
    await call('PUT', path, manager, { on: true, day: 'tuesday' });
    await call('PUT', path, manager, { on: true, day: 'tuesday' });
    expect(await audited()).toBe(before + 1);
    expect(await call('DELETE', path, manager)).toMatchObject({ status: 200, body: { on: false, day: 'monday', at: '08:00' } });
    const watcher = await db('users').where({ email: 'watcher@acme.test' }).first('id');
    await db('weekly_reviews').insert({ user_id: watcher.id, environment_id: 'prod', on: true, day: 3, at: '09:00', chosen_on_page: true });
    expect(await call('PUT', path, manager, { on: false })).toMatchObject({ status: 409 });
    expect((await call('GET', path, manager)).body).toMatchObject({ on: true, day: 'wednesday', at: '09:00', chosenByUser: true });
    await db('weekly_reviews').where({ user_id: watcher.id, environment_id: 'prod' }).delete();
  });

  it('S40: generated user bodies are applied and read back exactly, or refused by name with nothing changed', async () => {
    const names = fc.oneof(fc.constant(undefined), fc.constant(null), fc.string({ maxLength: 210 }), fc.constant('a\u0000b'), fc.constant('two\nlines'));
    const bodies = fc.record({ name: names, role: fc.oneof(fc.constantFrom(...userRoles), fc.string({ maxLength: 8 })), extra: fc.option(fc.string(), { nil: undefined }) }, { requiredKeys: ['role'] });
    let n = 0;
    await fc.assert(
      fc.asyncProperty(bodies, async (body) => {
        const email = `gen${(n += 1)}@acme.test`;
        const sent = Object.fromEntries(Object.entries(body).filter(([, value]) => value !== undefined));
        const answer = await call('PUT', `/users/${email}`, manager, sent);
        if (answer.status === 201) {
          expect(await call('GET', `/users/${email}`, manager)).toMatchObject({ status: 200, body: { email, name: body.name ?? null, role: body.role } });
        } else {
          expect(answer.status).toBe(400);
          expect(answer.body.problems!.length).toBeGreaterThan(0);
          for (const problem of answer.body.problems!) expect(problem.field).toMatch(/^(\(body\)\.)?(name|role|extra)$|^\(body\)$/);
          expect(await db('users').where({ email }).first()).toBeUndefined();
        }
      }),
      { numRuns: 40 },
    );
  });

  it('S40: generated environment and flow bodies are applied and read back exactly, or refused by name with nothing changed', async () => {
    const text = fc.oneof(
      { arbitrary: fc.string({ minLength: 1, maxLength: 40 }).filter((name) => name.trim() !== ''), weight: 6 },
      { arbitrary: fc.oneof(fc.string({ minLength: 201, maxLength: 210 }), fc.constant(''), fc.constant('a\u0000b'), fc.constant('two\nlines'), fc.integer()), weight: 4 },
    );
    const ids = fc.array(fc.oneof(fc.constantFrom('erp', 'nope', 'staging-erp'), fc.string({ maxLength: 5 })), { maxLength: 3 });
    const environments = fc.record(
      { name: text, production: fc.oneof(fc.boolean(), fc.constant('yes')), remindAfter: fc.option(fc.constantFrom('2 days', '12h', '30s', 'soon'), { nil: undefined }) },
      { requiredKeys: [] },
    );
    const flows = fc.record(
      { integration: fc.constantFrom('shop', 'billing', 'staging-shop', 'nope'), name: text, autoResolve: fc.option(fc.boolean(), { nil: undefined }), taskQueue: fc.option(fc.constantFrom('q-1', 'bad queue'), { nil: undefined }), connections: fc.option(ids, { nil: undefined }) },
      { requiredKeys: [] },
    );
    let n = 0;
    const outcomes = { applied: 0, refused: 0 };
    const tryPut = async (kind: 'environments' | 'flows', body: Record<string, unknown>) => {
      const id = `gen-${kind}-${(n += 1)}`;
      const answer = await call('PUT', `/${kind}/${id}`, manager, body);
      if (answer.status === 201) {
        outcomes.applied += 1;
        const read = await call('GET', `/${kind}/${id}`, manager);
        expect(read.body).toEqual(answer.body);
        for (const [field, value] of Object.entries(body)) {
          if (field === 'remindAfter' || value === undefined) continue;
          expect(read.body[field], field).toEqual(field === 'connections' ? [...new Set(value as string[])].sort() : value);
        }
      } else {
        outcomes.refused += 1;
        expect(answer.status, JSON.stringify(answer.body)).toBe(400);
        expect(answer.body.problems!.length).toBeGreaterThan(0);
        for (const problem of answer.body.problems!) expect(problem.field).toMatch(/^(\(body\)|name|production|remindAfter|integration|autoResolve|taskQueue|connections(\[\d+\])?)$/);
        expect(await db(kind).where({ id }).first()).toBeUndefined();
      }
    };
    await fc.assert(fc.asyncProperty(environments, (body) => tryPut('environments', body)), { numRuns: 30 });
    await fc.assert(fc.asyncProperty(flows, (body) => tryPut('flows', body)), { numRuns: 30 });
    // Both ways were taken.
    expect(outcomes.applied).toBeGreaterThan(0);
    expect(outcomes.refused).toBeGreaterThan(0);
  });

  it('S40: the TypeScript platform client does the same over the API: puts, lists page by page, refuses by name, tells a stale version', async () => {
    const platform = new HeraldPlatform({ url: server.url, token: manager });
    const put = await platform.putUser('ts@acme.test', { role: 'monitor', name: 'Ts' });
    expect(put).toMatchObject({ created: true, entity: { email: 'ts@acme.test', role: 'monitor' } });
    const listed: string[] = [];
    for await (const user of platform.list('users', 2)) listed.push(String(user.email));
    expect(listed).toEqual((await db('users').where({ account_id: 'acme' }).orderBy('email').pluck('email')));
    const refused = await platform.putUser('ts@acme.test', { role: 'boss' as never }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(HeraldInputError);
    expect((refused as HeraldInputError).problems[0]!.field).toBe('role');
    await platform.putUser('ts@acme.test', { role: 'manage', name: 'Ts' }, put.version);
    await expect(platform.putUser('ts@acme.test', { role: 'admin', name: 'Ts' }, put.version)).rejects.toBeInstanceOf(HeraldVersionConflict);
    expect(await platform.get('users', 'nobody@acme.test')).toBeUndefined();
    expect((await platform.setSubscriptions('prod', 'ts@acme.test', { flows: ['orders'] })).entity).toMatchObject({ flows: ['orders'] });
    expect((await platform.remove('users', 'ts@acme.test'))!.entity).toMatchObject({ removed: true });
  });

  it('S40: the OpenAPI document covers every route and is a valid OpenAPI 3.1 document', async () => {
    const document = (await (await fetch(`${server.url}/api/openapi.json`)).json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    const documented = Object.entries(document.paths).flatMap(([path, methods]) => Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`));
    expect(documented.sort()).toEqual(apiRoutes.map((route) => `${route.method} ${`${apiPrefix}${route.url}`.replace(/:([A-Za-z]+)/g, '{$1}')}`).sort());
    expect(document.openapi).toBe('3.1.0');
    const validation = await new Validator().validate(document as never);
    expect(validation.errors ?? []).toEqual([]);
    expect(validation.valid).toBe(true);
  });
});

describe('S40: one account synced whole', async () => {
  const { db, herald } = await startFixture({
    also: [{ accounts: [{ id: 'globex', name: 'Globex' }], users: [{ account: 'globex', email: 'ops@globex.test', role: 'admin' }] }],
  });
  const server = await startServer({ db, temporal: herald.temporal, taskQueue: herald.taskQueue, variables: { HERALD_API_RATE: '100000' } });
  const { token } = await createTokenStore(db).create('acme', 'sync', ['read', 'manage']);
  const sync = async (catalog: unknown, dryRun = false) => {
    const response = await fetch(`${server.url}${apiPrefix}/catalog${dryRun ? '?dryRun=true' : ''}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(catalog),
    });
    return { status: response.status, body: (await response.json()) as Record<string, Record<string, number>> & { problems?: { field: string; message: string }[] } };
  };
  // The test world's account as the platform now has it: ops gone, a new user, orders-team on billing.
  const catalog = {
    users: [
      { email: 'orders-team@acme.test', name: 'Orders team', role: 'manage' },
      { email: 'watcher@acme.test', name: 'Watcher', role: 'monitor' },
      { email: 'new@acme.test', role: 'monitor' },
    ],
    environments: [
      { id: 'prod', name: 'Production', production: true },
      { id: 'staging', name: 'Staging', production: false },
    ],
    subscriptions: [{ environment: 'prod', user: 'orders-team@acme.test', integrations: ['billing'] }],
  };

  it('S40: a dry run answers what a sync would do and changes nothing; the sync then does it, and again changes nothing', async () => {
    const users = () => db('users').where({ account_id: 'acme' }).orderBy('email').select('email', 'removed_at');
    const subscriptions = () => db('subscriptions').orderBy(['user_id', 'environment_id', 'flow_id', 'integration_id', 'connection_id']).select();
    const [usersBefore, subscriptionsBefore] = [await users(), await subscriptions()];
    const dry = await sync(catalog, true);
    expect(dry).toMatchObject({
      status: 200,
      body: {
        dryRun: true,
        created: { users: 1, subscriptions: 1 },
        removed: { users: 1 },
        kept: { integrations: 3, connections: 2, flows: 4 },
      },
    });
    // ops followed shop, billing and erp in prod and staging-shop, staging-erp in staging; orders-team followed orders.
    expect(dry.body.removed!.subscriptions).toBe(6);
    expect(await users()).toEqual(usersBefore);
    expect(await subscriptions()).toEqual(subscriptionsBefore);

    const done = await sync(catalog);
    expect(done.body).toEqual({ ...dry.body, dryRun: false });
    expect((await users()).map((u) => `${u.email}${u.removed_at ? ' (removed)' : ''}`)).toEqual([
      'new@acme.test',
      'ops@acme.test (removed)',
      'orders-team@acme.test',
      'watcher@acme.test',
    ]);
    expect(await db('users').where({ email: 'ops@globex.test' }).first('removed_at')).toEqual({ removed_at: null });
    const again = await sync(catalog);
    expect(again.body.created).toEqual({ environments: 0, integrations: 0, connections: 0, flows: 0, users: 0, subscriptions: 0 });
    expect(again.body.changed).toEqual(again.body.created);
    expect(again.body.removed).toEqual(again.body.created);
    expect(await db('audit_events').where({ account_id: 'acme', action: 'synced' }).count({ n: '*' })).toEqual([{ n: 2 }]);
  });

  it("S40: a sync that names another account, or creates one, is refused by name and changes nothing", async () => {
    const refused = await sync({ accounts: [{ id: 'acme', name: 'x' }], users: [{ account: 'globex', email: 'x@acme.test', role: 'owner' }] });
    expect(refused.status).toBe(400);
    expect(refused.body.problems!.map((p) => p.field)).toEqual(['accounts', 'users[0].account']);
    expect(await db('users').where({ email: 'x@acme.test' }).first()).toBeUndefined();
    const bad = await sync({ users: [{ email: 'not an address', role: 'boss' }] });
    expect(bad.body.problems!.map((p) => p.field)).toEqual(['users[0].email', 'users[0].role']);
  });
});
