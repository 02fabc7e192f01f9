import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createTestDatabase } from './helpers/database.js';
import { createTimeSkippingEnvironment } from './helpers/temporal.js';
import { startHerald } from './helpers/herald.js';
import { createTestWorld } from './helpers/world.js';
import { applyCatalog } from '../catalog/catalog.js';
import { startServer } from './helpers/server.js';
import { apiRoutes, apiPrefix, errorRoutes } from '../server/api.js';
import { createTokenStore } from '../stores/token-store.js';
import { errorReportRequestSchema, resolveRequestSchema } from '../contracts/error-report.js';
import { errorReportWorkflowId } from '../workflows/workflow-ids.js';

describe('the HTTP API', async () => {
  const env = await createTimeSkippingEnvironment();
  const { db } = await createTestDatabase();
  await createTestWorld(db);
  // A second account, with an environment, a flow, a connection and an error of its own.
  await applyCatalog(db, {
    accounts: [{ id: 'globex', name: 'Globex' }],
    users: [{ account: 'globex', email: 'ops@globex.test', role: 'admin' }],
    environments: [{ id: 'globex-prod', account: 'globex', name: 'Production', production: true }],
    connections: [{ id: 'globex-erp', environment: 'globex-prod', name: 'Globex ERP' }],
    integrations: [{ id: 'globex-shop', environment: 'globex-prod', name: 'Shop' }],
    flows: [{ id: 'globex-orders', integration: 'globex-shop', name: 'Orders', connections: ['globex-erp'] }],
  });
  const herald = await startHerald({ env, db });
  const server = await startServer({ db, temporal: herald.temporal, taskQueue: herald.taskQueue, variables: { HERALD_API_RATE: '1000' } });
  const base = server.url;
  const tokens = createTokenStore(db);
  const acme = (await tokens.create('acme', 'orders flow')).token;
  const globex = (await tokens.create('globex', 'globex flows')).token;

  const call = async (method: string, path: string, token: string | undefined, body?: unknown) => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { ...(token && { authorization: `Bearer ${token}` }), ...(body !== undefined && { 'content-type': 'application/json' }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, unknown> & { problems?: unknown } };
  };
  const globexError = (
    await call('POST', `${apiPrefix}/errors`, globex, { environment: 'globex-prod', flow: 'globex-orders', errors: [{ traceKey: 'G-1', message: 'Globex secret' }] })
  ).body;

  it('S29: a report over HTTP is the same errorReport run as the client\'s, stored once however often it is sent', async () => {
    const report = { environment: 'prod', flow: 'orders', reportId: 'http-run-1', errors: [{ id: 'e1', traceKey: 'SO-1', message: 'Customer <b>unknown</b>', code: 'NOT_FOUND' }] };
    const first = await call('POST', `${apiPrefix}/errors`, acme, report);
    expect(first).toMatchObject({ status: 200, body: { reportId: 'http-run-1', stored: 1, open: 1, duplicates: 0 } });
    expect((await herald.temporal.workflow.getHandle(errorReportWorkflowId('prod', 'orders', 'http-run-1')).describe()).type).toBe('errorReport');
    const again = await call('POST', `${apiPrefix}/errors`, acme, report);
    expect(again).toMatchObject({ status: 200, body: { stored: 1 } });
    expect(await db('errors').where({ report_id: 'http-run-1' }).count({ n: '*' })).toEqual([{ n: 1 }]);
  });

  it('S29: an HTTP report and a client report of the same report id are stored once', async () => {
    const report = { environment: 'prod', flow: 'invoices', reportId: 'both-ways', errors: [{ traceKey: 'INV-7', message: 'Tax code missing' }] };
    expect(await herald.client.reportErrors(report)).toMatchObject({ stored: 1 });
    expect(await call('POST', `${apiPrefix}/errors`, acme, report)).toMatchObject({ status: 200, body: { reportId: 'both-ways', stored: 1 } });
    expect(await db('errors').where({ report_id: 'both-ways' }).count({ n: '*' })).toEqual([{ n: 1 }]);
  });

  it('S29: bad input is answered 400 with the same named problems as the client, and nothing is stored', async () => {
    const bad = { environment: 'prod', flow: 'orders', errors: [{ traceKey: '', message: 42 }], extra: true };
    const answer = await call('POST', `${apiPrefix}/errors`, acme, bad);
    expect(answer.status).toBe(400);
    const fromClient = await herald.client.reportErrors(bad as never).catch((error: { problems: unknown }) => error.problems);
    expect(answer.body.problems).toEqual(fromClient);
    expect(answer.body.problems).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'errors[0].message' }), expect.objectContaining({ field: 'extra' })]));
    expect((await call('POST', `${apiPrefix}/errors`, acme, [1, 2])).status).toBe(400);
  });

  it('S29: successes, connection status, list with keyset pages, get and resolve, over HTTP', async () => {
    for (let i = 0; i < 5; i++) {
      await call('POST', `${apiPrefix}/errors`, acme, { environment: 'prod', flow: 'customers', errors: [{ traceKey: `C-${i}`, message: `Customer ${i} invalid` }] });
    }
    const first = await call('GET', `${apiPrefix}/errors?environment=prod&flow=customers&limit=2`, acme);
    expect(first.status).toBe(200);
    const page1 = first.body.errors as { id: number; traceKey: string }[];
    expect(page1.map((e) => e.traceKey)).toEqual(['C-4', 'C-3']);
    const second = await call('GET', first.body.next as string, acme);
    expect((second.body.errors as { traceKey: string }[]).map((e) => e.traceKey)).toEqual(['C-2', 'C-1']);
    expect((await call('GET', `${apiPrefix}/errors?limit=zero`, acme)).body.problems).toEqual([{ field: 'limit', message: 'must be a whole number' }]);

    const one = await call('GET', `${apiPrefix}/errors/${page1[0]!.id}`, acme);
    expect(one).toMatchObject({ status: 200, body: { traceKey: 'C-4', status: 'open', environment: 'prod' } });

    const resolved = await call('POST', `${apiPrefix}/errors/resolve`, acme, { environment: 'prod', errorIds: [page1[0]!.id], user: 'ops@acme.test' });
    expect(resolved).toMatchObject({ status: 200, body: { resolved: [page1[0]!.id] } });
    expect((await db('errors').where({ id: page1[0]!.id }).first('status', 'resolved_by'))).toEqual({ status: 'resolved', resolved_by: 'ops@acme.test' });

    await call('POST', `${apiPrefix}/errors`, acme, { environment: 'prod', flow: 'orders', errors: [{ traceKey: 'SO-9', message: 'Price missing' }] });
    expect(await call('POST', `${apiPrefix}/successes`, acme, { environment: 'prod', flow: 'orders', traceKeys: ['SO-9'] })).toMatchObject({
      status: 200,
      body: { resolved: 1, recovered: 0, autoResolveOff: false },
    });
    const assigned = await call('POST', `${apiPrefix}/errors/assign`, acme, { environment: 'prod', errorIds: [page1[1]!.id], assignee: 'watcher@acme.test', user: 'ops@acme.test' });
    expect(assigned).toMatchObject({ status: 200, body: { assigned: [page1[1]!.id] } });
    expect((await call('GET', `${apiPrefix}/errors/${page1[1]!.id}`, acme)).status).toBe(200);
    const offline = await call('POST', `${apiPrefix}/connections/erp/status`, acme, { environment: 'prod', status: 'offline', reason: 'ECONNREFUSED' });
    expect(offline).toEqual(expect.objectContaining({ status: 200, body: { changed: true } }));
    expect((await call('POST', `${apiPrefix}/connections/erp/status`, acme, { environment: 'prod', status: 'offline', reason: 'ECONNREFUSED' })).body).toEqual({ changed: false });
  });

  it('S23: a token of one account neither reads nor writes another account\'s anything: every route answers 404, and nothing changes', async () => {
    const before = await db('errors').count({ n: '*' }).first();
    const foreignId = (await db('errors').where({ environment_id: 'globex-prod' }).first('id'))!.id as number;
    expect(globexError).toMatchObject({ stored: 1 });
    const attempts: [string, string, unknown?][] = [
      ['POST', `${apiPrefix}/errors`, { environment: 'globex-prod', flow: 'globex-orders', errors: [{ traceKey: 'X', message: 'planted' }] }],
      ['POST', `${apiPrefix}/successes`, { environment: 'globex-prod', flow: 'globex-orders', traceKeys: ['G-1'] }],
      ['POST', `${apiPrefix}/connections/globex-erp/status`, { environment: 'globex-prod', status: 'offline' }],
      ['GET', `${apiPrefix}/errors/${foreignId}`],
      ['POST', `${apiPrefix}/errors/resolve`, { environment: 'globex-prod', errorIds: [foreignId], user: 'ops@globex.test' }],
      ['POST', `${apiPrefix}/errors/resolve`, { environment: 'prod', errorIds: [foreignId], user: 'ops@acme.test' }],
      ['POST', `${apiPrefix}/errors/assign`, { environment: 'globex-prod', errorIds: [foreignId], assignee: 'ops@globex.test', user: 'ops@globex.test' }],
      ['POST', `${apiPrefix}/errors/assign`, { environment: 'prod', errorIds: [foreignId], assignee: 'ops@acme.test', user: 'ops@acme.test' }],
      ['POST', `${apiPrefix}/errors/snooze`, { environment: 'globex-prod', errorIds: [foreignId], events: 3, user: 'ops@globex.test' }],
      ['POST', `${apiPrefix}/errors/snooze`, { environment: 'prod', errorIds: [foreignId], events: 3, user: 'ops@acme.test' }],
      ['POST', `${apiPrefix}/errors/snooze`, { environment: 'globex-prod', group: { flow: 'globex-orders', group: 'Globex secret' }, for: '1 day', user: 'ops@globex.test' }],
    ];
    for (const [method, path, body] of attempts) {
      const answer = await call(method, path, acme, body);
      expect(answer.status, `${method} ${path}`).toBe(404);
      expect(JSON.stringify(answer.body)).not.toContain('Globex secret');
    }
    // Lists show the caller's account only, whatever the filter.
    const listed = (await call('GET', `${apiPrefix}/errors?limit=1000`, acme)).body.errors as { environment: string }[];
    expect(listed.length).toBeGreaterThan(0);
    expect(listed.every((e) => e.environment !== 'globex-prod')).toBe(true);
    expect((await call('GET', `${apiPrefix}/errors?environment=globex-prod`, acme)).body.errors).toEqual([]);
    expect(await db('errors').count({ n: '*' }).first()).toEqual(before);
    expect(await db('errors').where({ id: foreignId }).first('status')).toEqual({ status: 'open' });
    expect(await db('connection_events').where({ connection_id: 'globex-erp' }).count({ n: '*' })).toEqual([{ n: 0 }]);
    expect(await db('snoozes').where({ environment_id: 'globex-prod' }).count({ n: '*' })).toEqual([{ n: 0 }]);
    // Every route of the errors' table was tried above (the list by its filter); the platform's are tried in platform-api.test.ts.
    expect(new Set(attempts.map(([method, path]) => `${method} ${path.replace(/\d+$/, ':id').replace('globex-erp', ':connection')}`))).toEqual(
      new Set(errorRoutes.filter((r) => r.url !== '/errors' || r.method === 'POST').map((r) => `${r.method} ${apiPrefix}${r.url}`)),
    );
  });

  it('S29: the Authorization scheme is read in any case, with any spaces after it (RFC 9110 §11.1): a report with "bearer" is stored', async () => {
    for (const [scheme, reportId] of [['bearer', 'lower-case-scheme'], ['BEARER ', 'upper-case-scheme']] as const) {
      const response = await fetch(`${base}${apiPrefix}/errors`, {
        method: 'POST',
        headers: { authorization: `${scheme} ${acme}`, 'content-type': 'application/json' },
        body: JSON.stringify({ environment: 'prod', flow: 'orders', reportId, errors: [{ traceKey: reportId, message: 'scheme in another case' }] }),
      });
      expect(response.status, scheme).toBe(200);
      expect(await db('errors').where({ report_id: reportId }).count({ n: '*' })).toEqual([{ n: 1 }]);
    }
    // Another scheme is no token.
    const basic = await fetch(`${base}${apiPrefix}/errors?limit=1`, { headers: { authorization: `Basic ${acme}` } });
    expect(basic.status).toBe(401);
  });

  it('S29: a missing, wrong or revoked token is answered 401, and nothing is done', async () => {
    const report = { environment: 'prod', flow: 'orders', reportId: 'no-token', errors: [{ traceKey: 'SO-401', message: 'x' }] };
    expect((await call('POST', `${apiPrefix}/errors`, undefined, report)).status).toBe(401);
    expect((await call('POST', `${apiPrefix}/errors`, `${acme}x`, report)).status).toBe(401);
    const revocable = await tokens.create('acme', 'to revoke');
    expect((await call('GET', `${apiPrefix}/errors?limit=1`, revocable.token)).status).toBe(200);
    expect(await tokens.revoke(revocable.id)).toBe(true);
    const revoked = await call('POST', `${apiPrefix}/errors`, revocable.token, report);
    expect(revoked.status).toBe(401);
    expect(revoked.headers.get('www-authenticate')).toBe('Bearer');
    expect(await db('errors').where({ report_id: 'no-token' }).count({ n: '*' })).toEqual([{ n: 0 }]);
    // Herald keeps a hash, never the token.
    expect(JSON.stringify(await db('api_tokens').select())).not.toContain(acme);
  });

  it('S29: the OpenAPI document lists every route, with the very schemas that validate the requests', async () => {
    const document = (await (await fetch(`${base}/api/openapi.json`)).json()) as { paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: unknown }> } }>> };
    const documented = Object.entries(document.paths).flatMap(([path, methods]) => Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`));
    const served = server.app.printRoutes({ commonPrefix: false });
    const openApiPath = (url: string) => `${apiPrefix}${url}`.replace(/:([A-Za-z]+)/g, '{$1}');
    expect(documented.sort()).toEqual(apiRoutes.map((r) => `${r.method} ${openApiPath(r.url)}`).sort());
    for (const r of apiRoutes) expect(served).toContain(`${apiPrefix}${r.url}`.split('/').at(-1));
    const schemaOf = (path: string) => document.paths[path]!.post!.requestBody!.content['application/json']!.schema;
    const { $schema: _a, ...report } = z.toJSONSchema(errorReportRequestSchema, { io: 'input', unrepresentable: 'any' });
    const { $schema: _b, ...resolve } = z.toJSONSchema(resolveRequestSchema, { io: 'input', unrepresentable: 'any' });
    expect(schemaOf(`${apiPrefix}/errors`)).toEqual(report);
    expect(schemaOf(`${apiPrefix}/errors/resolve`)).toEqual(resolve);
    // Nothing but the API is in it (not the codec endpoint, health or pages).
    expect(documented.every((route) => route.includes(apiPrefix))).toBe(true);
  });

  it('S29: a body that is no readable JSON, or carries __proto__ or constructor.prototype keys, is answered 400 naming the body, and nothing is stored', async () => {
    const before = await db('errors').count({ n: '*' });
    const send = async (body: string, contentType = 'application/json') => {
      const response = await fetch(`${base}${apiPrefix}/errors`, { method: 'POST', headers: { authorization: `Bearer ${acme}`, 'content-type': contentType }, body });
      return { status: response.status, body: (await response.json()) as { problems?: { field: string; message: string }[] } };
    };
    const report = JSON.stringify({ environment: 'prod', flow: 'orders', errors: [{ traceKey: 'P-1', message: 'x' }] });
    for (const [body, message] of [
      ['{"environment": ', /^is not valid JSON/],
      ['', /^is empty/],
      [`${report} trailing`, /^is not valid JSON/],
      [report.replace('{', '{"__proto__": {"polluted": true}, '), /__proto__/],
      [report.replace('{', '{"constructor": {"prototype": {"polluted": true}}, '), /constructor\.prototype/],
    ] as const) {
      const answer = await send(body);
      expect(answer.status, body).toBe(400);
      expect(answer.body.problems).toEqual([{ field: '(body)', message: expect.stringMatching(message) }]);
    }
    // Sent as text, it is a string, not the object the route takes.
    const asText = await send(report, 'text/plain');
    expect(asText.status).toBe(400);
    expect(asText.body.problems?.[0]?.field).toBe('(body)');
    expect(await db('errors').count({ n: '*' })).toEqual(before);
  });

  it('S29: requests with no token or a token that is not one are rate limited per client address, answered 429 with Retry-After', async () => {
    const limited = await startServer({ db, temporal: herald.temporal, taskQueue: herald.taskQueue, variables: { HERALD_API_RATE: '5' } });
    const statuses = [];
    for (let i = 0; i < 8; i++) {
      const guess: Record<string, string> = i % 2 === 0 ? {} : { authorization: `Bearer guess-${i}` };
      statuses.push((await fetch(`${limited.url}${apiPrefix}/errors`, { headers: guess })).status);
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429, 429]);
    const over = await fetch(`${limited.url}${apiPrefix}/errors`);
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(0);
    // A valid token counts on its own.
    expect((await fetch(`${limited.url}${apiPrefix}/errors?limit=1`, { headers: { authorization: `Bearer ${acme}` } })).status).toBe(200);
    await limited.stop();
  });

  it('S29: a token over its rate limit is answered 429 with Retry-After, and other tokens are not', async () => {
    const limited = await startServer({ db, temporal: herald.temporal, taskQueue: herald.taskQueue, variables: { HERALD_API_RATE: '3' } });
    const limitedBase = limited.url;
    const get = (token: string) => fetch(`${limitedBase}${apiPrefix}/errors?limit=1`, { headers: { authorization: `Bearer ${token}` } });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await get(acme)).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const over = await get(acme);
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await over.json()) as { error: string }).error).toMatch(/too many requests/);
    expect((await get(globex)).status).toBe(200);
    await limited.stop();
  });
});
