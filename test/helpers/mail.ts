import { afterAll } from 'vitest';
import { SMTPServer, type SMTPServerAddress } from 'smtp-server';
import { simpleParser, type ParsedMail } from 'mailparser';
import type { AddressInfo } from 'node:net';

/** A message received by the test SMTP server, parsed, with its envelope. */
export interface ReceivedMail {
  envelopeTo: string[];
  parsed: ParsedMail;
  raw: string;
}

/** A real SMTP server for one test file: records every message, and can refuse on demand. */
export interface TestMailServer {
  url: string;
  received: ReceivedMail[];
  /** Waits until at least `count` messages (matching `to`, when given) arrived; returns those. */
  waitFor(count: number, options?: { to?: string; timeoutMs?: number }): Promise<ReceivedMail[]>;
  /** Messages received for one address. */
  to(address: string): ReceivedMail[];
  /** Refuse this recipient permanently (550), as a server does for an unknown mailbox. */
  refuseRecipient(address: string): void;
  /** While on, every message is refused with a transient 421, as during an outage. */
  setOutage(on: boolean): void;
  /** Messages offered while the outage was on. */
  refusedDuringOutage: number;
  /** After `count` more accepted messages, hold each next one unanswered until `releaseHeld`. */
  holdAfter(count: number): void;
  /** Messages held unanswered now. */
  held: number;
  /** Answers every held message with a transient 451: the sender must try again. */
  releaseHeld(): void;
  clear(): void;
}

export async function startTestMailServer(): Promise<TestMailServer> {
  const received: ReceivedMail[] = [];
  const refused = new Set<string>();
  let outage = false;
  const waiters = new Set<() => void>();
  const state = {
    refusedDuringOutage: 0,
    holdAfter: Infinity,
    held: [] as (() => void)[],
  };

  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    size: 25 * 1024 * 1024,
    onMailFrom(_address, _session, callback) {
      if (!outage) return callback();
      state.refusedDuringOutage += 1;
      callback(Object.assign(new Error('Service not available, try again later'), { responseCode: 421 }));
    },
    onRcptTo(address: SMTPServerAddress, _session, callback) {
      if (refused.has(address.address.toLowerCase())) {
        return callback(Object.assign(new Error('No such mailbox'), { responseCode: 550 }));
      }
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        if (state.holdAfter <= 0) {
          state.held.push(() => callback(Object.assign(new Error('Try again later'), { responseCode: 451 })));
          for (const wake of waiters) wake();
          return;
        }
        state.holdAfter -= 1;
        const raw = Buffer.concat(chunks).toString('utf8');
        simpleParser(raw)
          .then((parsed) => {
            received.push({ envelopeTo: session.envelope.rcptTo.map((r) => r.address.toLowerCase()), parsed, raw });
            for (const wake of waiters) wake();
            callback();
          })
          .catch(callback);
      });
    },
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
      for (const answer of state.held.splice(0)) answer();
    },
    to: (address) => matching(address),
    refuseRecipient: (address) => refused.add(address.toLowerCase()),
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
