/**
 * A mailer whose SMTP work runs on threads of its own. Sending a digest is CPU-bound in
 * nodemailer (building and encoding each message, dot-stuffing it onto the socket): on the
 * worker's main thread it competes with the activities that compose the emails and with the
 * Temporal worker itself. Here each thread owns a pooled transport; the main thread only posts
 * the composed email and learns the outcome, which means what it means for {@link Mailer}: a
 * {@link RecipientRefusedError} for this recipient, any other failure for the server as a whole.
 */
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { ClaimExpiredError, RecipientRefusedError, type Mailer, type OutgoingEmail, type SmtpMailerOptions } from './mailer.js';

export type MailerThreadRequest = { kind: 'send'; id: number; email: OutgoingEmail } | { kind: 'close' };
export type MailerThreadReply =
  | { kind: 'sent'; id: number }
  | { kind: 'refused'; id: number; recipient: string; response: string; permanent: boolean; code?: number }
  | { kind: 'expired'; id: number; message: string }
  | { kind: 'failed'; id: number; message: string; code?: string; responseCode?: number; command?: string };

export interface ThreadedMailerOptions extends SmtpMailerOptions {
  /** Threads to send from (default: the machine's cores, at most 4, and no more than connections); the SMTP connections are shared out among them. */
  threads?: number;
}

interface Pending {
  resolve: () => void;
  reject: (error: Error) => void;
}

interface MailerThread {
  worker: Worker;
  pending: Map<number, Pending>;
  stopped: boolean;
}

/**
 * How to start a mailer thread: the module beside this one, built (`.js`) or, when Herald runs from
 * source, its `.ts` through tsx's loader, registered in the thread (a worker thread does not take
 * `--import` flags).
 */
function threadEntry(): { code: string; eval: boolean } {
  if (!import.meta.url.endsWith('.ts')) return { code: fileURLToPath(new URL('./mailer-thread.js', import.meta.url)), eval: false };
  const tsx = import.meta.resolve('tsx/esm/api');
  const thread = new URL('./mailer-thread.ts', import.meta.url).href;
  return { code: `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(thread)}); })`, eval: true };
}

export function createThreadedMailer({ threads = Math.min(4, availableParallelism()), maxConnections = 5, ...smtp }: ThreadedMailerOptions): Mailer {
  const entry = threadEntry();
  // The connections are shared out, not multiplied: the pool holds `maxConnections` in all, so that
  // no more emails are in flight at once than with one transport (S33's duplicate window).
  const count = Math.max(1, Math.min(threads, maxConnections));
  const connectionsOf = (index: number) => Math.floor(maxConnections / count) + (index < maxConnections % count ? 1 : 0);
  let nextId = 1;
  let closed = false;
  // One queue for all threads, as one transport has: a thread is handed no more emails than it has
  // connections, so no email waits behind one thread's busy connections while another's are free.
  const queue: (Pending & { email: OutgoingEmail })[] = [];

  const start = (index: number): MailerThread => {
    const worker = new Worker(entry.code, { eval: entry.eval, workerData: { ...smtp, maxConnections: connectionsOf(index) } });
    const thread: MailerThread = { worker, pending: new Map(), stopped: false };
    worker.on('message', (reply: MailerThreadReply) => {
      const pending = thread.pending.get(reply.id);
      if (!pending) return;
      thread.pending.delete(reply.id);
      if (reply.kind === 'sent') pending.resolve();
      else if (reply.kind === 'refused') pending.reject(new RecipientRefusedError(reply.recipient, reply.response, reply.permanent, reply.code));
      else if (reply.kind === 'expired') pending.reject(Object.assign(new ClaimExpiredError(0), { message: reply.message }));
      else pending.reject(Object.assign(new Error(reply.message), { code: reply.code, responseCode: reply.responseCode, command: reply.command }));
      dispatch();
    });
    // A thread that dies fails what it had in hand (those emails were not confirmed sent). It is
    // replaced while emails wait, not at once: a thread that cannot start fails the queue's emails a
    // few at a time instead of restarting for ever.
    const fail = (cause: string) => {
      if (thread.stopped) return;
      thread.stopped = true;
      for (const pending of thread.pending.values()) pending.reject(new Error(`the mailer thread stopped (${cause}) before the SMTP server answered`));
      thread.pending.clear();
      dispatch();
    };
    worker.on('error', (error) => fail(error.message));
    worker.on('exit', (code) => fail(`exit code ${code}`));
    worker.unref();
    return thread;
  };
  const pool: MailerThread[] = Array.from({ length: count }, (_, index) => start(index));

  const dispatch = () => {
    for (const [index, thread] of pool.entries()) if (thread.stopped && queue.length > 0) pool[index] = start(index);
    for (const [index, thread] of pool.entries()) {
      while (queue.length > 0 && thread.pending.size < connectionsOf(index)) {
        const { email, ...pending } = queue.shift()!;
        const id = nextId++;
        thread.pending.set(id, pending);
        thread.worker.postMessage({ kind: 'send', id, email } satisfies MailerThreadRequest);
      }
    }
  };

  return {
    connections: maxConnections,
    send(email) {
      if (closed) return Promise.reject(new Error('the mailer is closed'));
      return new Promise<void>((resolve, reject) => {
        queue.push({ email, resolve, reject });
        dispatch();
      });
    },
    close() {
      closed = true;
      for (const waiting of queue.splice(0)) waiting.reject(new Error('the mailer is closed'));
      for (const thread of pool) thread.worker.postMessage({ kind: 'close' } satisfies MailerThreadRequest);
    },
  };
}
