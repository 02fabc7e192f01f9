/**
 * The server's log and headers, as `npm run server` builds it: one JSON line per request under
 * its request id, which the answer carries; nothing that would let a reader in (API tokens,
 * session cookies, sign-in and unsubscribe links, the secret) is ever written; pages answer with
 * security headers.
 */
import { describe, expect, it } from 'vitest';
import { createTestDatabase } from './helpers/database.js';
import { createTestWorld } from './helpers/world.js';
import { startServer } from './helpers/server.js';
import { startTestMailServer } from './helpers/mail.js';
import { testSecret } from './helpers/herald.js';
import { createTokenStore } from '../stores/token-store.js';
import { createPeopleStore } from '../stores/people-store.js';
import { unsubscribeToken } from '../email/unsubscribe.js';

describe("the server's log and headers", async () => {
  const { db } = await createTestDatabase();
  await createTestWorld(db);
  const mail = await startTestMailServer();
  const lines: string[] = [];
  const server = await startServer({ db, smtpUrl: mail.url, logStream: { write: (line: string) => void lines.push(line) } });
  const { token } = await createTokenStore(db).create('acme', 'logged');

  it('S29: every request is one JSON line under its request id; no token, cookie, sign-in or unsubscribe link, or secret is written', async () => {
    const given = await fetch(`${server.url}/api/v1/errors?limit=1`, { headers: { authorization: `Bearer ${token}`, 'x-request-id': 'platform-req-42' } });
    expect(given.headers.get('x-request-id')).toBe('platform-req-42');
    const [link] = await createPeopleStore(db).createSignInLinks('ops@acme.test', '/?from=secret-place');
    const confirm = await fetch(`${server.url}/sign-in/${link!.token}`);
    const cookie = confirm.headers.get('set-cookie') ?? '';
    expect(confirm.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const ops = Number((await db('users').where({ email: 'ops@acme.test' }).first('id')).id);
    const unsubscribe = unsubscribeToken(testSecret, { userId: ops, environment: 'prod', scope: { kind: 'errors' } });
    await fetch(`${server.url}/unsubscribe/${unsubscribe}`);
    await fetch(`${server.url}/`, { headers: { cookie: cookie.split(';')[0]! } });
    await fetch(`${server.url}/api/v1/errors`, { headers: { authorization: `Bearer ${token}x` } });

    const records = lines.map((line) => JSON.parse(line) as { requestId?: string; req?: { url: string }; res?: { statusCode: number } });
    const requests = records.filter((record) => record.req);
    expect(requests.map((record) => record.req!.url)).toEqual(
      expect.arrayContaining(['/api/v1/errors?[query]', '/sign-in/[token]', '/unsubscribe/[token]', '/', '/api/v1/errors']),
    );
    expect(records.filter((record) => record.res).every((record) => typeof record.requestId === 'string')).toBe(true);
    expect(records.some((record) => record.requestId === 'platform-req-42')).toBe(true);
    const log = lines.join('');
    for (const secret of [token, link!.token, unsubscribe, testSecret, cookie.split(';')[0]!.split('=')[1]!, 'secret-place']) {
      expect(secret.length).toBeGreaterThan(8);
      expect(log).not.toContain(secret);
    }
  });

  it('pages and the API answer with security headers: no script, nothing from elsewhere, no framing, no referrer', async () => {
    const page = await fetch(`${server.url}/sign-in`);
    const policy = page.headers.get('content-security-policy') ?? '';
    expect(policy).toContain("default-src 'none'");
    expect(policy).toContain("frame-ancestors 'none'");
    expect(policy).toContain("form-action 'self'");
    expect(policy).not.toContain('script-src');
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    const api = await fetch(`${server.url}/api/v1/errors`, { headers: { authorization: `Bearer ${token}` } });
    expect(api.headers.get('x-content-type-options')).toBe('nosniff');
  });
});
