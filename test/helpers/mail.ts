import { afterAll, expect } from 'vitest';
import type { Knex } from 'knex';
import { SMTPServer, type SMTPServerAddress } from 'smtp-server';
import { simpleParser, type ParsedMail } from 'mailparser';
import type { AddressInfo } from 'node:net';

/** A message received by the test SMTP server, parsed, with its envelope. */
export interface ReceivedMail {
  envelopeTo: string[];
  parsed: ParsedMail;
  raw: string;
  /** When its SMTP transaction began (MAIL FROM), ms since the epoch. */
  startedAt: number;
  /** When its data had all arrived (before the answer, which a delay may hold back), ms since the epoch. */
  arrivedAt: number;
  /** The sender's end of the connection it came on: which process sent it (see senderPorts). */
  clientPort: number;
}

/** A real SMTP server for one test file: records every message, and can refuse on demand. */
export interface TestMailServer {
  url: string;
  received: ReceivedMail[];
  /** Waits until at least `count` messages (matching `to`, when given) arrived; returns those. */
  waitFor(count: number, options?: { to?: string; timeoutMs?: number }): Promise<ReceivedMail[]>;
  /** Answers each message only after `ms`, as a slow server does: sending takes a while. */
  setDelay(ms: number): void;
  /** Messages received for one address. */
  to(address: string): ReceivedMail[];
  /** Refuse this recipient permanently (550), as a server does for an unknown mailbox. */
  refuseRecipient(address: string): void;
  /**
   * Answer `code` for this recipient at RCPT TO, or after its message's data (end of DATA):
   * 4xx refuses it for now, 5xx for good. Until `accept(address)`.
   */
  refuseAt(address: string, stage: 'rcpt' | 'data', code: number): void;
  /** Takes back every refusal of this recipient. */
  accept(address: string): void;
  /** Refusals answered so far, per recipient and stage (`ana@x rcpt 451`). */
  refusals: string[];
  /** While on, every message is refused with a transient 421, as during an outage. */
  setOutage(on: boolean): void;
  /** Messages offered while the outage was on. */
  refusedDuringOutage: number;
  /** After `count` more accepted messages, hold each next one unanswered until `releaseHeld`. */
  holdAfter(count: number): void;
  /** Messages held unanswered now. */
  held: number;
  /** Answers every held message with 421 (the server is closing): the sender must try again later. */
  releaseHeld(): void;
  /** Answers every held message, and each next one that would be held, with 421 at once, until `releaseHeld`. */
  refuseHeld(): void;
  clear(): void;
}

export async function startTestMailServer(): Promise<TestMailServer> {
  const received: ReceivedMail[] = [];
  const refusedAt = new Map<string, { stage: 'rcpt' | 'data'; code: number; text?: string }>();
  const refusals: string[] = [];
  const refusal = (address: string, stage: 'rcpt' | 'data') => {
    const rule = refusedAt.get(address.toLowerCase());
    if (!rule || rule.stage !== stage) return undefined;
    refusals.push(`${address.toLowerCase()} ${stage} ${rule.code}`);
    const text = rule.text ?? (rule.code >= 500 ? 'Refused for good' : 'Refused for now, try again later');
    return Object.assign(new Error(text), { responseCode: rule.code });
  };
  let outage = false;
  /** When each connection's current transaction began. */
  const transactionStarts = new Map<string, number>();
  const waiters = new Set<() => void>();
  const state = {
    refusedDuringOutage: 0,
    holdAfter: Infinity,
    delayMs: 0,
    held: [] as (() => void)[],
    refusingHeld: false,
  };

  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    size: 25 * 1024 * 1024,
    onMailFrom(_address, session, callback) {
      transactionStarts.set(session.id, Date.now());
      if (!outage) return callback();
      state.refusedDuringOutage += 1;
      callback(Object.assign(new Error('Service not available, try again later'), { responseCode: 421 }));
    },
    onRcptTo(address: SMTPServerAddress, _session, callback) {
      callback(refusal(address.address, 'rcpt'));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const arrivedAt = Date.now();
        const refused = session.envelope.rcptTo.map((r) => refusal(r.address, 'data')).find((r) => r !== undefined);
        if (refused) return callback(refused);
        if (state.holdAfter <= 0) {
          const closing = () => callback(Object.assign(new Error('Service closing, try again later'), { responseCode: 421 }));
          if (state.refusingHeld) return closing();
          state.held.push(closing);
          for (const wake of waiters) wake();
          return;
        }
        state.holdAfter -= 1;
        const raw = Buffer.concat(chunks).toString('utf8');
        const delay = new Promise((resolve) => setTimeout(resolve, state.delayMs));
        Promise.all([simpleParser(raw), delay])
          .then(([parsed]) => {
            received.push({ envelopeTo: session.envelope.rcptTo.map((r) => r.address.toLowerCase()), parsed, raw, startedAt: transactionStarts.get(session.id) ?? arrivedAt, arrivedAt, clientPort: session.remotePort });
            for (const wake of waiters) wake();
            callback();
          })
          .catch(callback);
      });
    },
  });
  // A client that dies mid-session (a killed worker) resets its connection: expected, not a failure of the server.
  server.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'ECONNRESET' && error.code !== 'EPIPE') throw error;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const matching = (to?: string) => (to ? received.filter((m) => m.envelopeTo.includes(to.toLowerCase())) : received);

  return {
    url: `smtp://127.0.0.1:${port}`,
    received,
    get refusedDuringOutage() {
      return state.refusedDuringOutage;
    },
    get held() {
      return state.held.length;
    },
    holdAfter: (count) => {
      state.holdAfter = count;
    },
    releaseHeld: () => {
      state.holdAfter = Infinity;
      state.refusingHeld = false;
      for (const answer of state.held.splice(0)) answer();
    },
    refuseHeld: () => {
      state.refusingHeld = true;
      for (const answer of state.held.splice(0)) answer();
    },
    to: (address) => matching(address),
    setDelay: (ms) => {
      state.delayMs = ms;
    },
    refuseRecipient: (address) => refusedAt.set(address.toLowerCase(), { stage: 'rcpt', code: 550, text: 'No such mailbox' }),
    refuseAt: (address, stage, code) => refusedAt.set(address.toLowerCase(), { stage, code }),
    accept: (address) => refusedAt.delete(address.toLowerCase()),
    refusals,
    setOutage: (on) => {
      outage = on;
    },
    clear: () => {
      received.length = 0;
    },
    waitFor(count, { to, timeoutMs = 30_000 } = {}) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = matching(to);
          if (found.length < count) return false;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(found);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`expected ${count} email(s)${to ? ` to ${to}` : ''}, got ${matching(to).length}`));
        }, timeoutMs);
        if (!check()) waiters.add(check);
      });
    },
  };
}

/**
 * After a fault in the middle of sending `expected` emails, one to each recipient (S33, S44): waits
 * until all arrived and are marked sent, lets stragglers land, then holds that each recipient got
 * the email, that at most `inFlight` (the pool's connections) got it twice, and a second copy carries
 * the first's Message-ID.
 */
export async function expectEachOnceButInFlight(mail: TestMailServer, db: Knex, expected: number, inFlight = 5): Promise<void> {
  mail.setDelay(0);
  await mail.waitFor(expected, { timeoutMs: 60_000 });
  await expect.poll(async () => (await db('notifications').whereNull('channel_id').where({ status: 'sent' }).count({ n: '*' }))[0]!.n, { timeout: 30_000 }).toBe(expected);
  // Time for anything still in hand (a resumed worker's, an email on the wire) to arrive.
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  const byRecipient = messageIdsByRecipient(mail.received);
  expect(byRecipient.size).toBe(expected);
  const duplicated = [...byRecipient.values()].filter((ids) => ids.length > 1);
  expect(duplicated.length).toBeLessThanOrEqual(inFlight);
  for (const ids of duplicated) expect(new Set(ids).size).toBe(1);
}

/** The Message-IDs each recipient received, in order of arrival: more than one means a duplicate. */
export function messageIdsByRecipient(received: ReceivedMail[]): Map<string, string[]> {
  const byRecipient = new Map<string, string[]>();
  for (const message of received) {
    const to = message.envelopeTo[0]!;
    byRecipient.set(to, [...(byRecipient.get(to) ?? []), message.parsed.messageId!]);
  }
  return byRecipient;
}
