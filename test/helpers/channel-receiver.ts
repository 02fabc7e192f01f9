/**
 * A local HTTP receiver of channel messages (S43), one path per channel, that checks what a real
 * Slack, Teams or webhook consumer checks and can be told to refuse: N answers of a status (with
 * Retry-After), a redirect, or a slow answer. Everything it was sent is kept for the test.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { once } from 'node:events';
import { afterAll } from 'vitest';

export interface ReceivedRequest {
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
  /** What the receiver answered. */
  status: number;
}

/** What a path answers next: a queue of refusals, then 200. */
export type Answer = { status: number; retryAfter?: string; location?: string } | { delayMs: number };

export interface ChannelReceiver {
  url(path: string): string;
  /** Answers the next requests to `path` so, in order; then 200 again. */
  answer(path: string, ...answers: Answer[]): void;
  /** Every request to `path` (or all), in order of arrival. */
  received(path?: string): ReceivedRequest[];
  /** The bodies `path` accepted (200), parsed. */
  accepted(path: string): unknown[];
  /** The most requests to `path` that were open at once (arrived, not yet answered) since the last clear. */
  mostAtOnce(path: string): number;
  clear(): void;
}

/** Listens on a free port of 127.0.0.1 until the test file ends; answers the port. */
export async function listenLocally(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });
  return (server.address() as { port: number }).port;
}

export async function startChannelReceiver(): Promise<ChannelReceiver> {
  const requests: ReceivedRequest[] = [];
  const queues = new Map<string, Answer[]>();
  const open = new Map<string, number>();
  const most = new Map<string, number>();
  const server: Server = createServer((request, response) => {
    const opened = request.url ?? '/';
    open.set(opened, (open.get(opened) ?? 0) + 1);
    most.set(opened, Math.max(most.get(opened) ?? 0, open.get(opened)!));
    response.on('close', () => open.set(opened, open.get(opened)! - 1));
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const path = request.url ?? '/';
      const next = queues.get(path)?.shift();
      const finish = (status: number, headers: Record<string, string> = {}) => {
        requests.push({ path, headers: request.headers, body: Buffer.concat(chunks).toString('utf8'), status });
        response.writeHead(status, { 'content-type': 'text/plain', ...headers }).end(status === 200 ? 'ok' : `refused ${status}`);
      };
      if (!next) return finish(200);
      if ('delayMs' in next) {
        const timer = setTimeout(() => finish(200), next.delayMs);
        response.on('close', () => clearTimeout(timer));
        requests.push({ path, headers: request.headers, body: Buffer.concat(chunks).toString('utf8'), status: 0 });
        return;
      }
      finish(next.status, { ...(next.retryAfter && { 'retry-after': next.retryAfter }), ...(next.location && { location: next.location }) });
    });
  });
  const port = await listenLocally(server);
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    answer: (path, ...answers) => queues.set(path, [...(queues.get(path) ?? []), ...answers]),
    received: (path) => requests.filter((r) => path === undefined || r.path === path),
    accepted: (path) => requests.filter((r) => r.path === path && r.status === 200).map((r) => JSON.parse(r.body) as unknown),
    mostAtOnce: (path) => most.get(path) ?? 0,
    clear: () => {
      requests.length = 0;
      queues.clear();
      most.clear();
    },
  };
}
