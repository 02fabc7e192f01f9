/**
 * One HTTP POST of a channel message (S43), and what its answer means: sent (2xx); refused for
 * now (429, 408, 5xx, no answer in time, a connection that failed), with the wait the receiver
 * asked for in Retry-After; or refused for good (any other answer, a redirect, which is never
 * followed, and an address the policy forbids, checked as the connection is made).
 */
import http from 'node:http';
import https from 'node:https';
import { RequestFilteringHttpAgent, RequestFilteringHttpsAgent } from 'request-filtering-agent';
import type { ChannelAddressPolicy } from '../contracts/channel-url.js';

/** How a POST ended; a refusal with the start of the receiver's answer (`answer`), for a transport that reads its words. */
export type PostOutcome =
  | { outcome: 'sent'; status: number }
  | { outcome: 'retry'; status: number | null; retryAfterMs: number | null; error: string; answer?: string }
  | { outcome: 'failed'; status: number | null; error: string; answer?: string };

/** How long a receiver has to answer before the attempt counts as refused for now. */
export const defaultPostTimeoutMs = 10_000;

/** The wait a Retry-After header asks for (seconds, or an HTTP date), in ms; null when absent or unreadable. */
export function retryAfterMs(header: string | undefined, now: number = Date.now()): number | null {
  if (!header) return null;
  const text = header.trim();
  if (/^\d{1,9}$/.test(text)) return Number(text) * 1_000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/** The agents of a policy: they refuse, at connect time, an address the policy forbids. */
export function channelAgents(policy: ChannelAddressPolicy) {
  const options = { keepAlive: true, allowIPAddressList: policy.allow };
  return { http: new RequestFilteringHttpAgent(options), https: new RequestFilteringHttpsAgent(options) };
}
export type ChannelAgents = ReturnType<typeof channelAgents>;

/** Posts `body` to `url` once. Never throws: every way it can end is an outcome. */
export function postMessage(
  url: string,
  body: string,
  headers: Record<string, string>,
  options: { agents: ChannelAgents; timeoutMs?: number },
): Promise<PostOutcome> {
  const target = new URL(url);
  const client = target.protocol === 'http:' ? http : https;
  const agent = target.protocol === 'http:' ? options.agents.http : options.agents.https;
  return new Promise((settle) => {
    const request = client.request(
      target,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'user-agent': 'Herald', ...headers, 'content-length': String(Buffer.byteLength(body)) },
        signal: AbortSignal.timeout(options.timeoutMs ?? defaultPostTimeoutMs),
      },
      (response) => {
        const status = response.statusCode ?? 0;
        const chunks: Buffer[] = [];
        let length = 0;
        response.on('data', (chunk: Buffer) => {
          if (length < 2_000) chunks.push(chunk);
          length += chunk.length;
        });
        response.on('error', () => settle({ outcome: 'retry', status, retryAfterMs: null, error: `HTTP ${status}, answer cut short` }));
        response.on('end', () => {
          const answer = Buffer.concat(chunks).toString('utf8').slice(0, 2_000);
          const said = answer.slice(0, 300).replace(/\s+/g, ' ').trim();
          const error = `HTTP ${status}${said ? `: ${said}` : ''}`;
          if (status >= 200 && status < 300) settle({ outcome: 'sent', status });
          else if (status >= 300 && status < 400) {
            settle({ outcome: 'failed', status, error: `HTTP ${status}: redirects are not followed (to ${response.headers.location ?? 'nowhere'})` });
          } else if (status === 429 || status === 408 || status >= 500) {
            settle({ outcome: 'retry', status, retryAfterMs: retryAfterMs(response.headers['retry-after']), error, answer });
          } else settle({ outcome: 'failed', status, error, answer });
        });
      },
    );
    request.on('error', (error: Error & { code?: string }) => {
      // The agent's refusal of an address: for good, as the channel's URL is.
      if (/is not allowed/.test(error.message)) settle({ outcome: 'failed', status: null, error: `refused address: ${error.message}` });
      else if (error.name === 'AbortError' || error.name === 'TimeoutError') settle({ outcome: 'retry', status: null, retryAfterMs: null, error: 'no answer in time' });
      else settle({ outcome: 'retry', status: null, retryAfterMs: null, error: `${error.code ?? error.name}: ${error.message}` });
    });
    request.end(body);
  });
}
