import { describe, expect, it } from 'vitest';
import { createTestDatabase } from './helpers/database.js';
import { createTestWorld } from './helpers/world.js';
import { startTestMailServer } from './helpers/mail.js';
import { freePort } from './helpers/ports.js';
import { startServer } from './helpers/server.js';
import { decode, Visitor } from './helpers/visitor.js';

describe('signing in without a password', async () => {
  const { db } = await createTestDatabase();
  await createTestWorld(db);
  await db('users').insert({ account_id: 'acme', email: 'gone@acme.test', role: 'monitor', removed_at: new Date() });
  const mail = await startTestMailServer();
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  await startServer({ db, smtpUrl: mail.url, port, appUrl: base, signInLimits: { perAddress: 5, perClient: 100 } });

  /** Asks for a link for `email` as `visitor`, and returns the link the email carried. */
  const linkFor = async (visitor: Visitor, email: string, next = '/') => {
    const before = mail.to(email).length;
    const answer = await visitor.submit(`/sign-in?next=${encodeURIComponent(next)}`, { email });
    expect(answer.html).toContain(`If ${email} belongs to a Herald user, a sign-in link is on its way`);
    const [message] = (await mail.waitFor(before + 1, { to: email })).slice(before);
    return /(http:\/\/127\.0\.0\.1:\d+\/sign-in\/[A-Za-z0-9_-]{43})/.exec(message!.parsed.text!)![1]!;
  };

  it('S22: a page followed while signed out asks for sign-in; the emailed link, confirmed, signs in and lands on that page', async () => {
    const ana = new Visitor(base);
    const signedOut = await ana.get('/?from=digest');
    expect(signedOut).toMatchObject({ status: 303, location: '/sign-in?next=%2F%3Ffrom%3Ddigest' });
    const link = await linkFor(ana, 'ops@acme.test', '/?from=digest');
    const [email] = mail.to('ops@acme.test');
    expect(email!.parsed.subject).toBe('Your Herald sign-in link');
    expect(email!.parsed.html).toContain(`href="${link}"`);

    // Following the link only asks to confirm (a mail scanner's GET uses nothing up).
    // (Its address may break on a phone at its @ and dots: <wbr>, which the reader does not see.)
    const asked = (html: string) => html.replaceAll('<wbr>', '');
    const confirm = await ana.get(link);
    expect(asked(confirm.html)).toContain('Sign in as ops@acme.test');
    expect(asked((await ana.get(link)).html)).toContain('Sign in as ops@acme.test');
    const signedIn = await ana.submit(link);
    expect(signedIn).toMatchObject({ status: 303, location: '/?from=digest' });
    const home = await ana.get('/?from=digest');
    expect(home.status).toBe(200);
    expect(home.html).toContain('<strong data-person>ops@acme.test</strong> (admin) of Acme');
  });

  it('S22: a used, expired or altered link signs nobody in', async () => {
    const visitor = new Visitor(base);
    const link = await linkFor(visitor, 'orders-team@acme.test');
    expect((await visitor.submit(link)).status).toBe(303);

    const other = new Visitor(base);
    expect((await other.request('POST', link, {})).status).toBe(403); // no CSRF token: refused before anything
    const reused = await other.get(link);
    expect(reused.status).toBe(410);
    expect(reused.html).toContain('This sign-in link does not work');
    // Posted with a valid CSRF token (from another form), the used link still signs nobody in.
    const csrf = /name="_csrf" value="([^"]+)"/.exec((await other.get('/sign-in')).html)![1]!;
    expect((await other.request('POST', link, { _csrf: decode(csrf) })).status).toBe(410);
    expect((await other.get('/')).status).toBe(303);

    const expiring = await linkFor(other, 'watcher@acme.test');
    await db('sign_in_links').where('expires_at', '>', db.fn.now()).update({ expires_at: db.raw(`now() - interval '1 second'`) });
    expect((await other.get(expiring)).status).toBe(410);

    const fresh = await linkFor(other, 'watcher@acme.test');
    const altered = fresh.slice(0, -1) + (fresh.endsWith('A') ? 'B' : 'A');
    expect((await other.get(altered)).status).toBe(410);
    expect((await other.get('/')).status).toBe(303); // still signed out
  });

  it("S22: the page answers before the link is sent, so its timing does not tell who is a user: a user's address is answered while the email is still held by the mail server", async () => {
    mail.holdAfter(0);
    try {
      const answer = await new Visitor(base).submit('/sign-in', { email: 'ops@acme.test' });
      expect(answer.status).toBe(200);
      expect(answer.html).toContain('data-page="sign-in-sent"');
      // The email follows the answer.
      await expect.poll(() => mail.held, { timeout: 10_000 }).toBe(1);
    } finally {
      mail.releaseHeld();
    }
  });

  it('S22: an address that is no user (or a removed one) gets the same answer and no email', async () => {
    const visitor = new Visitor(base);
    const before = mail.received.length;
    for (const email of ['stranger@example.com', 'gone@acme.test']) {
      const answer = await visitor.submit('/sign-in', { email });
      expect(answer.status).toBe(200);
      expect(answer.html).toContain(`If ${email} belongs to a Herald user, a sign-in link is on its way`);
    }
    // A user who asks after them gets their link: the requests before, which found nobody, have
    // ended by then (each looks up the address first, and sends nothing when no one has it).
    await db('users').insert({ account_id: 'acme', email: 'after@acme.test', role: 'monitor' });
    await visitor.submit('/sign-in', { email: 'after@acme.test' });
    await mail.waitFor(1, { to: 'after@acme.test' });
    expect(mail.received.slice(before).map((m) => m.envelopeTo[0])).toEqual(['after@acme.test']);
  });

  it('S22: signing out ends the session, for this browser and any copy of its cookie', async () => {
    const visitor = new Visitor(base);
    await visitor.submit(await linkFor(visitor, 'ops@acme.test'));
    const cookie = (await visitor.get('/')).status;
    expect(cookie).toBe(200);
    const sessionsBefore = Number((await db('sessions').count({ n: '*' }).first())!.n);
    // Sign-out is a form like any other: without its CSRF token it changes nothing (S28).
    expect((await visitor.request('POST', '/sign-out', {})).status).toBe(403);
    expect((await visitor.get('/')).status).toBe(200);
    const copy = structuredClone((visitor as unknown as { cookies: Map<string, string> }).cookies);
    expect((await visitor.submit('/', {}, '/sign-out')).location).toBe('/sign-in');
    expect(Number((await db('sessions').count({ n: '*' }).first())!.n)).toBe(sessionsBefore - 1);
    const thief = new Visitor(base);
    (thief as unknown as { cookies: Map<string, string> }).cookies.set('herald_session', copy.get('herald_session')!);
    expect((await thief.get('/')).status).toBe(303);
  });

  it('S28: a sign-in form posted without its CSRF token sends nothing', async () => {
    const before = mail.received.length;
    const answer = await new Visitor(base).request('POST', '/sign-in', { email: 'ops@acme.test' });
    expect(answer.status).toBe(403);
    expect(answer.html).toContain('Nothing was changed');
    expect(mail.received.length).toBe(before);
  });

  it('S28: sign-in requests are rate limited per address and per client, answered 429 with Retry-After', async () => {
    // A server of its own: its limits start from nothing.
    const limitedPort = await freePort();
    const limitedBase = `http://127.0.0.1:${limitedPort}`;
    const limited = await startServer({ db, smtpUrl: mail.url, port: limitedPort, appUrl: limitedBase, signInLimits: { perAddress: 3, perClient: 8 } });
    const visitor = new Visitor(limitedBase);
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await visitor.submit('/sign-in', { email: 'flood@example.com' })).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    // Other addresses from the same client, until the client's own limit (8 in this test's window).
    const others = [];
    for (let i = 0; i < 5; i++) others.push(await visitor.submit('/sign-in', { email: `other${i}@example.com` }));
    expect(others.map((o) => o.status)).toEqual([200, 200, 200, 200, 429]);
    const answer = await fetch(`${limitedBase}/sign-in`, { method: 'POST' }); // the client's limit comes before anything else
    expect(answer.status).toBe(429);
    expect(Number(answer.headers.get('retry-after'))).toBeGreaterThan(0);
    await limited.stop();
  });

  it('S28: names are escaped in pages as in emails', async () => {
    await db('accounts').insert({ id: 'hostile', name: '<script>alert(1)</script> & Co' });
    await db('users').insert({ account_id: 'hostile', email: 'eve@hostile.test', name: '<img src=x onerror=alert(2)>', role: 'owner' });
    const eve = new Visitor(base);
    await eve.submit(await linkFor(eve, 'eve@hostile.test'));
    const home = await eve.get('/');
    expect(home.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co');
    expect(home.html).not.toContain('<script>alert(1)');
    const [email] = mail.to('eve@hostile.test');
    expect(email!.parsed.html).toContain('Sign in to &lt;script&gt;alert(1)&lt;/script&gt; &amp; Co');
  });

  it('S22: the session cookie is HttpOnly and SameSite=Lax, and Secure when Herald is served over https', async () => {
    const visitor = new Visitor(base);
    const page = await visitor.get('/sign-in');
    const cookie = page.setCookie.find((c) => c.startsWith('herald_session='))!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    expect(cookie).not.toMatch(/Secure/);
    const secure = await startServer({ db, smtpUrl: mail.url, appUrl: 'https://herald.example.com', variables: { HERALD_TRUST_PROXY: '1' } });
    const answer = await secure.app.inject({ method: 'GET', url: '/sign-in', headers: { 'x-forwarded-proto': 'https' } });
    expect(String(answer.headers['set-cookie'])).toMatch(/Secure/);
    await secure.stop();
  });
});
