import { afterAll, describe, expect, it } from 'vitest';
import { startTestMailServer } from './helpers/mail.js';
import { createThreadedMailer } from '../email/mailer-threads.js';
import { ClaimExpiredError, RecipientRefusedError } from '../email/mailer.js';
import { freePort } from './helpers/ports.js';

const email = (to: string, n = 0) => ({
  to,
  subject: `Digest ${n}`,
  html: `<p>Hello ${to}, digest ${n} — café</p>`,
  text: `Hello ${to}, digest ${n} — café`,
  messageId: `<digest-${n}.${to}@herald.test>`,
  headers: { 'List-Unsubscribe': `<https://app.herald.test/unsubscribe/${n}>` },
});

describe('the mailer on threads of its own', async () => {
  const mail = await startTestMailServer();
  const mailer = createThreadedMailer({ smtpUrl: mail.url, from: 'Herald <herald@herald.test>', maxConnections: 4, threads: 2 });
  afterAll(() => mailer.close());

  it('sends what it is given, each email once, as it was composed', async () => {
    const recipients = Array.from({ length: 40 }, (_, i) => `user${i}@example.test`);
    await Promise.all(recipients.map((to, i) => mailer.send(email(to, i))));
    const received = await mail.waitFor(40);
    expect(received.map((m) => m.envelopeTo[0]).sort()).toEqual([...recipients].sort());
    const first = mail.to('user7@example.test')[0]!.parsed;
    expect(first.subject).toBe('Digest 7');
    expect(first.messageId).toBe('<digest-7.user7@example.test@herald.test>');
    expect(first.text?.trim()).toBe('Hello user7@example.test, digest 7 — café');
    expect(mail.to('user7@example.test')[0]!.raw).toContain('List-Unsubscribe: <https://app.herald.test/unsubscribe/7>');
  });

  it('S34: a refused recipient is a RecipientRefusedError, for good (5xx) or for now (4xx); the others are sent', async () => {
    mail.clear();
    mail.refuseAt('gone@example.test', 'data', 554);
    mail.refuseAt('busy@example.test', 'rcpt', 451);
    const outcomes = await Promise.allSettled(['gone@example.test', 'busy@example.test', 'fine@example.test'].map((to) => mailer.send(email(to))));
    expect(outcomes[0]).toMatchObject({ status: 'rejected', reason: expect.objectContaining({ name: 'RecipientRefusedError', permanent: true, recipient: 'gone@example.test' }) });
    expect((outcomes[0] as PromiseRejectedResult).reason).toBeInstanceOf(RecipientRefusedError);
    expect((outcomes[0] as PromiseRejectedResult).reason.response).toMatch(/554/);
    expect(outcomes[1]).toMatchObject({ status: 'rejected', reason: expect.objectContaining({ permanent: false }) });
    expect(outcomes[2]).toEqual({ status: 'fulfilled', value: undefined });
    expect(mail.to('fine@example.test')).toHaveLength(1);
    mail.accept('gone@example.test');
    mail.accept('busy@example.test');
  });

  it('S33: no more emails are in flight at once than the connections in all; the rest wait in one queue for the first free one', async () => {
    mail.clear();
    const three = createThreadedMailer({ smtpUrl: mail.url, from: 'Herald <herald@herald.test>', maxConnections: 3, threads: 2 });
    try {
      mail.holdAfter(0);
      const outcomes = Promise.allSettled(Array.from({ length: 5 }, (_, i) => three.send(email(`queued${i}@example.test`, i))));
      await expect.poll(() => mail.held, { timeout: 10_000 }).toBe(3);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(mail.held).toBe(3);
      // The held ones are answered 421 (the server is closing); the two that waited go out after.
      mail.releaseHeld();
      const settled = await outcomes;
      expect(settled.filter((o) => o.status === 'rejected')).toHaveLength(3);
      expect(settled.slice(3).map((o) => o.status)).toEqual(['fulfilled', 'fulfilled']);
    } finally {
      three.close();
    }
  });

  it('S44: an email whose claim expired before it left (its process stood still) is not sent: ClaimExpiredError; one still fresh is', async () => {
    const stale = mailer.send({ ...email('stale@example.test', 90), notAfter: Date.now() - 1 });
    await expect(stale).rejects.toBeInstanceOf(ClaimExpiredError);
    await mailer.send({ ...email('fresh@example.test', 91), notAfter: Date.now() + 10_000 });
    await mail.waitFor(1, { to: 'fresh@example.test' });
    expect(mail.to('stale@example.test')).toEqual([]);
  });

  it('S37: an address that is not one plain address is refused for good without reaching the server', async () => {
    await expect(mailer.send(email('a@example.test, b@example.test'))).rejects.toMatchObject({ name: 'RecipientRefusedError', permanent: true });
  });

  it('an unreachable server is a failure of the server, not of the recipient', async () => {
    const nowhere = createThreadedMailer({ smtpUrl: `smtp://127.0.0.1:${await freePort()}`, from: 'Herald <herald@herald.test>', threads: 1 });
    try {
      const failure = await nowhere.send(email('someone@example.test')).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(Error);
      expect(failure).not.toBeInstanceOf(RecipientRefusedError);
      expect(failure).toMatchObject({ code: 'ESOCKET' });
    } finally {
      nowhere.close();
    }
  });

  it('a thread that stops fails the emails it had as a failure of the server; each next email starts a new one', async () => {
    // Its transport cannot be made from this URL: every thread stops as it starts.
    const broken = createThreadedMailer({ smtpUrl: 'smtp://[not-a-host', from: 'Herald <herald@herald.test>', threads: 1 });
    try {
      for (const to of ['first@example.test', 'second@example.test']) {
        const failure = await broken.send(email(to)).catch((error: unknown) => error);
        expect(failure).not.toBeInstanceOf(RecipientRefusedError);
        expect(String(failure)).toMatch(/the mailer thread stopped \(.*Invalid URL.*\) before the SMTP server answered/);
      }
    } finally {
      broken.close();
    }
  });

  it('a closed mailer sends nothing more', async () => {
    const closing = createThreadedMailer({ smtpUrl: mail.url, from: 'Herald <herald@herald.test>', threads: 1 });
    closing.close();
    await expect(closing.send(email('late@example.test'))).rejects.toThrow(/closed/);
  });
});
