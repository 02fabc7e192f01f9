/**
 * A local PagerDuty Events API v2 endpoint (POST /v2/enqueue) that answers as the documented one
 * does: 202 `{ status: "success", message: "Event processed", dedup_key }` for a valid event;
 * 400 `{ status: "invalid event", message: "Event object is invalid", errors: [...] }` for one
 * that is not (an unknown routing key, a missing summary, source or severity, a resolve without
 * its key, a key over 255 characters); and, when told, 429 or 5xx. It keeps the incidents as
 * PagerDuty would: a trigger opens one for its dedup key (or adds an alert to the open one); a
 * resolve closes it.
 */
import { createServer, type Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import { listenLocally } from './channel-receiver.js';

export interface PagerDutyEvent {
  routing_key?: string;
  event_action?: string;
  dedup_key?: string;
  payload?: { summary?: string; source?: string; severity?: string; component?: string; group?: string; class?: string; custom_details?: Record<string, unknown> };
  links?: { href: string; text: string }[];
}

export interface PagerDutyIncident {
  key: string;
  status: 'triggered' | 'resolved';
  summary: string;
  alerts: number;
}

export interface PagerDutyReceiver {
  url: string;
  /** Routing keys of the integrations it knows; events to others are refused (400). */
  keys: Set<string>;
  /** Answers the next requests so (429 or 5xx), in order; then as PagerDuty. */
  refuse(...statuses: number[]): void;
  /** Every event posted, with what it was answered. */
  events(): { event: PagerDutyEvent; status: number }[];
  incident(key: string): PagerDutyIncident | undefined;
  clear(): void;
}

const severities = ['critical', 'error', 'warning', 'info'];

function problemsOf(event: PagerDutyEvent, keys: Set<string>): string[] {
  const problems: string[] = [];
  if (typeof event.routing_key !== 'string' || !keys.has(event.routing_key)) problems.push('Invalid routing key');
  if (!['trigger', 'acknowledge', 'resolve'].includes(String(event.event_action))) problems.push("'event_action' is invalid (must be one of trigger, acknowledge, resolve)");
  if (event.dedup_key !== undefined && (typeof event.dedup_key !== 'string' || event.dedup_key.length > 255)) problems.push("'dedup_key' must be a string of at most 255 characters");
  if (event.event_action !== 'trigger' && !event.dedup_key) problems.push("'dedup_key' is missing or blank");
  if (event.event_action === 'trigger') {
    const p = event.payload;
    if (!p?.summary) problems.push("'payload.summary' is missing or blank");
    else if (p.summary.length > 1024) problems.push("'payload.summary' is longer than 1024 characters");
    if (!p?.source) problems.push("'payload.source' is missing or blank");
    if (!severities.includes(String(p?.severity))) problems.push("'payload.severity' is invalid (must be one of critical, error, warning, info)");
  }
  return problems;
}

export async function startPagerDutyReceiver(): Promise<PagerDutyReceiver> {
  const keys = new Set<string>();
  const received: { event: PagerDutyEvent; status: number }[] = [];
  const incidents = new Map<string, PagerDutyIncident>();
  const refusals: number[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const answer = (status: number, body: object) => response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      let event: PagerDutyEvent;
      try {
        event = JSON.parse(Buffer.concat(chunks).toString('utf8')) as PagerDutyEvent;
      } catch {
        return answer(400, { status: 'invalid event', message: 'Event object is invalid', errors: ['Invalid JSON'] });
      }
      if (request.method !== 'POST' || request.url !== '/v2/enqueue') return answer(404, { status: 'not found' });
      const refusal = refusals.shift();
      if (refusal !== undefined) {
        received.push({ event, status: refusal });
        return answer(refusal, { status: 'throttle event', message: 'Requests for this service are arriving too quickly. Please retry later.' });
      }
      const problems = problemsOf(event, keys);
      if (problems.length > 0) {
        received.push({ event, status: 400 });
        return answer(400, { status: 'invalid event', message: 'Event object is invalid', errors: problems });
      }
      const key = event.dedup_key ?? randomUUID();
      const open = incidents.get(key);
      if (event.event_action === 'trigger') {
        if (open?.status === 'triggered') open.alerts += 1;
        else incidents.set(key, { key, status: 'triggered', summary: event.payload!.summary!, alerts: 1 });
      } else if (event.event_action === 'resolve' && open) open.status = 'resolved';
      received.push({ event, status: 202 });
      answer(202, { status: 'success', message: 'Event processed', dedup_key: key });
    });
  });
  const port = await listenLocally(server);
  return {
    url: `http://127.0.0.1:${port}/v2/enqueue`,
    keys,
    refuse: (...statuses) => refusals.push(...statuses),
    events: () => [...received],
    incident: (key) => incidents.get(key),
    clear: () => {
      received.length = 0;
      refusals.length = 0;
    },
  };
}
