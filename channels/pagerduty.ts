/**
 * PagerDuty (S49), through its Events API v2: the channel's URL is the events endpoint
 * (https://events.pagerduty.com/v2/enqueue, or a region's), its secret the integration's routing
 * key, which goes in the body. Herald drives incidents by dedup key, so PagerDuty's own
 * auto-resolve follows Herald's:
 * - a connection going offline triggers an incident, and coming back online resolves it;
 * - after a digest cycle of a production environment, each flow it tells of that has errors open
 *   triggers one (its key from the environment and the flow), and one with none open resolves it.
 * Reminders and assignments are people's business and are not posted. Every request is one
 * PagerDuty takes twice as once (a trigger of an open key adds to its incident; a resolve of a
 * resolved one changes nothing), so a retry posts them all again.
 */
import { createHash } from 'node:crypto';
import { environmentLabel, type ChannelEvent } from './events.js';
import type { ChannelRequest, OutgoingMessage, Transport } from './transport.js';

/** PagerDuty's limits: a dedup key of 255 characters, a summary of 1,024. */
const maxKeyLength = 255;
const maxSummaryLength = 1_024;

/** The incident's key: readable where it fits, its hash where it would not. */
export function pagerDutyKey(...parts: string[]): string {
  const key = ['herald', ...parts].join('/');
  return key.length <= maxKeyLength ? key : `herald/${createHash('sha256').update(key).digest('hex')}`;
}

const cut = (text: string, limit: number) => (text.length <= limit ? text : `${text.slice(0, limit - 1)}…`);

interface Incident {
  action: 'trigger' | 'resolve';
  key: string;
  summary: string;
  component: string;
  group: string;
  class: string;
  timestamp: string;
  url: string;
  details: Record<string, unknown>;
}

function request(message: OutgoingMessage, incident: Incident): ChannelRequest {
  const body = {
    routing_key: message.channel.secret,
    event_action: incident.action,
    dedup_key: incident.key,
    client: 'Herald',
    client_url: incident.url,
    ...(incident.action === 'trigger' && {
      payload: {
        summary: cut(incident.summary, maxSummaryLength),
        source: 'herald',
        severity: 'error',
        timestamp: incident.timestamp,
        component: incident.component,
        group: incident.group,
        class: incident.class,
        custom_details: incident.details,
      },
      links: [{ href: incident.url, text: 'Open in Herald' }],
    }),
  };
  return { url: message.channel.url, body: JSON.stringify(body), headers: {} };
}

function incidents(event: ChannelEvent): Incident[] {
  const { account, environment } = event.data;
  const group = environmentLabel(environment);
  switch (event.type) {
    case 'herald.connection.offline':
    case 'herald.connection.online': {
      const { connection, reason, usedBy, errorsSince, url } = event.data;
      const flows = usedBy.flatMap((use) => use.flows);
      return [
        {
          action: event.type === 'herald.connection.offline' ? 'trigger' : 'resolve',
          key: pagerDutyKey(account.id, environment.id, 'connection', connection.id),
          summary: `Connection ${connection.name} is offline in ${group}${reason ? `: ${reason}` : ''}`,
          component: connection.name,
          group,
          class: 'connection offline',
          timestamp: event.timestamp,
          url,
          details: { account: account.name, reason, errorsSince, flowsUsingIt: flows },
        },
      ];
    }
    case 'herald.digest': {
      if (!environment.production) return [];
      return (event.data.flows ?? []).map((flow) => ({
        action: flow.openErrors > 0 ? 'trigger' : 'resolve',
        key: pagerDutyKey(account.id, environment.id, 'flow', flow.id),
        summary: `${flow.name} (${flow.integration}): ${flow.openErrors} open error${flow.openErrors === 1 ? '' : 's'} in ${group}`,
        component: flow.name,
        group,
        class: 'flow errors',
        timestamp: event.timestamp,
        url: flow.url,
        details: { account: account.name, integration: flow.integration, openErrors: flow.openErrors, newErrors: flow.newErrors, resolvedErrors: flow.resolvedErrors },
      }));
    }
    default:
      return [];
  }
}

export const pagerDutyTransport: Transport = {
  requests: (event, message) => incidents(event).map((incident) => request(message, incident)),
  declines: 'PagerDuty is told of connections going offline and back, and of the flows of production environments with errors open',
  refusal(status, answer) {
    // A 400's body: { status, message, errors: [...] }.
    try {
      const said = JSON.parse(answer) as { message?: unknown; errors?: unknown };
      const errors = Array.isArray(said.errors) ? said.errors.filter((e): e is string => typeof e === 'string') : [];
      if (typeof said.message !== 'string') return undefined;
      return `PagerDuty refused the event (HTTP ${status}): ${said.message}${errors.length > 0 ? ` (${errors.join('; ')})` : ''}`.slice(0, 500);
    } catch {
      return undefined;
    }
  },
};
