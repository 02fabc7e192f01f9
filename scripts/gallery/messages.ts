/**
 * Every message Herald sends, for every kind, transport and state that changes what it says
 * (S48), rendered from fixtures through the production code: the email jobs and templates, the
 * Slack, Teams and webhook formats. The gallery shows them; the S48 tests read them.
 */
import { digestEmail, type OfflineLine } from '../../email/digest-email.js';
import { renderEmail } from '../../email/render.js';
import { reminderEmailJob } from '../../email/reminder-email.js';
import { assignmentEmailJob } from '../../email/assignment-email.js';
import { connectionEmailJob } from '../../email/connection-email.js';
import { weeklyReviewEmailJob } from '../../email/weekly-review-email.js';
import type { WeeklyReviewFigures } from '../../stores/weekly-review-store.js';
import { signInEmail } from '../../email/sign-in-email.js';
import { unsubscribeLinks } from '../../email/unsubscribe.js';
import { emailActionLinks } from '../../email/email-actions.js';
import { recipientsOwn } from '../../email/digest-composer.js';
import { messagePattern } from '../../stores/fingerprint.js';
import type { CycleContext, DigestErrorRow } from '../../stores/digest-store.js';
import { channelRequests } from '../../channels/transports.js';
import { channelActionLinks } from '../../channels/channel-actions.js';
import type { ChannelEvent, ErrorLine } from '../../channels/events.js';
import { describeRhythm } from '../../contracts/rhythm.js';

/** Where the gallery's links lead: the server of `npm start`. */
export const galleryAppUrl = 'http://localhost:8080';
const gallerySecret = 'the-gallery-secret-shows-links-only';
const unsubscribe = unsubscribeLinks(galleryAppUrl, gallerySecret);

export type Transport = 'email' | 'slack' | 'teams' | 'webhook' | 'pagerduty';

/** One message as its transport delivers it. */
export interface GalleryMessage {
  /** File-safe name: `<kind>-<state>-<transport>`. */
  id: string;
  kind: string;
  state: string;
  transport: Transport;
  subject?: string;
  /** An email's HTML part. */
  html?: string;
  /** An email's text part. */
  text?: string;
  /** What a channel is sent, as JSON. */
  body?: object;
}

const at = (day: number, hour: number, minute = 0) => new Date(Date.UTC(2026, 11, day, hour, minute));
const production = { id: 'acme-production', name: 'Production', production: true };
const staging = { id: 'acme-staging', name: 'Staging', production: false };
const account = { id: 'acme', name: 'Acme Outfitters' };

let nextId = 9_000;
/** A new error of a digest, as the digest store reads it. */
function row(flow: 'orders' | 'customers', traceKey: string, message: string, more: Partial<DigestErrorRow> = {}): DigestErrorRow {
  const flows = { orders: ['orders-to-erp', 'Orders to ERP'], customers: ['customers-to-crm', 'Customers to CRM'] } as const;
  return {
    id: (nextId += 1),
    flowId: flows[flow][0],
    flowName: flows[flow][1],
    integrationName: 'Storefront to ERP',
    traceKey,
    message,
    code: 'NOT_FOUND',
    step: 'Create sales order',
    occurredAt: at(6, 9, 12),
    resolvedAt: null,
    resolutionReason: null,
    resolvedBy: null,
    assignee: null,
    flowCount: 1,
    ...more,
  };
}

/** A group's line (S42): its first error, with the group's count, times, first trace keys and latest message. */
function groupRow(first: DigestErrorRow, size: number, examples: string[], latest: string): DigestErrorRow {
  return {
    ...first,
    group: { fingerprint: `auto:${messagePattern(first.message)}`, size, firstSeen: first.occurredAt, lastSeen: at(6, 9, 14), examples, latestMessage: latest },
  };
}

interface DigestState {
  state: string;
  context?: Partial<CycleContext>;
  counts: { newCount: number; resolvedCount: number; openCount: number; rhythm?: string | null };
  newRows?: DigestErrorRow[];
  resolvedRows?: DigestErrorRow[];
  offline?: OfflineLine[];
}

const attempts = [1, 2, 3].map((n) => `A3 attempt ${n} failed x1`);
const hostile = 'Kunde <b>Müller & Söhne</b> *nicht* _gefunden_ <!channel> "quoted" \u202Eevil';

/** The digests whose states change what a digest says. */
function digestStates(): DigestState[] {
  const orders = [row('orders', 'SO-1001', 'Customer C-1001 not found in ERP'), row('orders', 'SO-1002', 'Credit limit exceeded for customer C-77', { assignee: 'owner@acme.example' })];
  const grouped = groupRow(row('orders', 'SO-2001', attempts[0]!), 3, ['SO-2001', 'SO-2002', 'SO-2003'], attempts[2]!);
  const bulk = groupRow(row('customers', 'CU-1', 'bulk error 4711 on record 1'), 30_000, ['CU-1', 'CU-2', 'CU-3'], 'bulk error 4711 on record 30000');
  const resolved = [
    row('orders', 'SO-0990', 'Customer C-990 not found in ERP', { resolvedAt: at(6, 9, 10), resolvedBy: 'owner@acme.example' }),
    row('customers', 'CU-0991', 'Timeout calling CRM', { resolvedAt: at(6, 9, 11), resolutionReason: 'record succeeded' }),
  ];
  const daily = describeRhythm({ every: 'day', at: '08:00', timeZone: 'Europe/Berlin' });
  return [
    { state: 'first', counts: { newCount: 2, resolvedCount: 0, openCount: 2 }, newRows: orders },
    { state: 'default-rhythm', counts: { newCount: 3, resolvedCount: 0, openCount: 18, rhythm: null }, newRows: [...orders, row('customers', 'CU-17', 'Email address is not valid: "jane@@example"')] },
    { state: 'daily-rhythm', counts: { newCount: 2, resolvedCount: 1, openCount: 9, rhythm: daily }, newRows: orders, resolvedRows: resolved.slice(0, 1) },
    { state: 'grouped', counts: { newCount: 5, resolvedCount: 0, openCount: 5 }, newRows: [...orders, grouped] },
    {
      state: 'offline-folded',
      counts: { newCount: 4, resolvedCount: 0, openCount: 4 },
      newRows: orders.slice(0, 1),
      offline: [{ connection: { id: 'warehouse-sftp', name: 'Warehouse SFTP' }, errors: 3, flows: 1, since: at(6, 8, 55), foldedInFlows: 3 }],
    },
    { state: '30000-errors', counts: { newCount: 30_002, resolvedCount: 0, openCount: 30_140 }, newRows: [...orders, bulk] },
    { state: 'resolved-only', counts: { newCount: 0, resolvedCount: 2, openCount: 7 }, resolvedRows: resolved },
    { state: 'non-production', context: { environment: staging }, counts: { newCount: 1, resolvedCount: 0, openCount: 1 }, newRows: orders.slice(0, 1) },
    {
      state: 'hostile-name',
      context: { account: { id: 'acme', name: 'Acme <script>alert(1)</script> & Co' } },
      counts: { newCount: 1, resolvedCount: 0, openCount: 1 },
      newRows: [row('orders', '<img src=x onerror=alert(1)>', hostile, { flowName: '"><b>Orders</b>' })],
    },
  ];
}

/**
 * Errors per hour of the gallery's flows over the 48 hours to the cycle (S47): orders rising
 * through the morning, customers quieter than the day before.
 */
const galleryTrends = new Map<string, number[]>([
  ['orders-to-erp', [...Array.from({ length: 24 }, (_, i) => (i % 6 === 0 ? 1 : 0)), ...Array.from({ length: 24 }, (_, i) => (i < 16 ? 0 : [1, 2, 4, 7, 12, 9, 5, 2][i - 16]!))]],
  ['customers-to-crm', [...Array.from({ length: 24 }, (_, i) => (i % 3 === 0 ? 2 : 1)), ...Array.from({ length: 24 }, (_, i) => (i === 20 ? 1 : 0))]],
]);

/** Every email, with its text part: digests in each state, reminder, assignment, connection offline and online, sign-in. */
export async function galleryEmails(): Promise<GalleryMessage[]> {
  const emails: GalleryMessage[] = [];
  const add = (kind: string, state: string, email: { subject: string; html: string; text: string }) =>
    emails.push({ id: `${kind}-${state}-email`, kind, state, transport: 'email', subject: email.subject, html: email.html, text: email.text });

  for (const digest of digestStates()) {
    // As the store reads them: each row knows how many errors its flow has in the list (a group counts its size).
    for (const rows of [digest.newRows ?? [], digest.resolvedRows ?? []]) {
      for (const row of rows) row.flowCount = rows.filter((other) => other.flowId === row.flowId).reduce((n, other) => n + (other.group?.size ?? 1), 0);
    }
    const context: CycleContext = { cycleId: 40, number: 40, environment: production, account, ...digest.context };
    // Addressed to a user who may act: each new row carries its actions (S45).
    const composed = digestEmail(context, digest.counts, digest.newRows ?? [], digest.resolvedRows ?? [], galleryAppUrl, digest.offline, true, galleryTrends);
    const rendered = await renderEmail('digest', composed.model);
    const recipient = { userId: 3, publicId: '00000000-0000-4000-8000-000000000040' };
    add('digest', digest.state, recipientsOwn({ subject: composed.subject, ...rendered }, { unsubscribe, actions: emailActionLinks(galleryAppUrl, gallerySecret) }, context, recipient, galleryAppUrl));
  }

  const stillOpen = [row('orders', 'SO-0801', 'Customer C-801 not found in ERP'), row('customers', 'CU-0802', 'Credit limit exceeded for customer C-802')].map((error, i) => ({
    ...error,
    reportedAt: at(2, 8 + i),
    assignee: i === 0 ? 'owner@acme.example' : null,
  }));
  const reminder = reminderEmailJob({ deliveryId: 71, publicId: null, userId: 3, recipient: 'owner@acme.example', environment: production, account, errors: stillOpen, count: 2, thresholdMs: 3 * 86_400_000, canAct: true }, galleryAppUrl, 'gallery', unsubscribe, emailActionLinks(galleryAppUrl, gallerySecret));
  add('reminder', 'still-open', await reminder.compose());
  const assignment = assignmentEmailJob({ deliveryId: 72, publicId: null, userId: 3, recipient: 'owner@acme.example', assignedBy: 'integrations@acme.example', environment: production, account, errors: stillOpen, canAct: true }, galleryAppUrl, 'gallery', emailActionLinks(galleryAppUrl, gallerySecret));
  add('assignment', 'two-errors', await assignment.compose());
  for (const [state, figures] of Object.entries(weeklyFigures())) {
    const weekly = weeklyReviewEmailJob({ deliveryId: 74, publicId: null, userId: 3, recipient: 'owner@acme.example', plannedAt: at(7, 7, 5), environment: staging, account, wanted: true, figures }, galleryAppUrl, 'gallery', unsubscribe);
    add('weekly', state, await weekly.compose());
  }
  for (const status of ['offline', 'online'] as const) {
    const job = connectionEmailJob(
      {
        deliveryId: 73,
        publicId: null,
        userId: 3,
        recipient: 'owner@acme.example',
        environment: production,
        account,
        connection: { id: 'warehouse-sftp', name: 'Warehouse SFTP' },
        status,
        reason: status === 'offline' ? 'Connection refused (ECONNREFUSED) at sftp.warehouse.example:22' : null,
        changedAt: at(6, 8, 55),
        usedBy: [{ integration: 'Fulfilment', flows: ['Shipments to warehouse', 'Stock levels from warehouse'] }],
        wanted: true,
        errorsSince: status === 'offline' ? 3 : 0,
      },
      galleryAppUrl,
      'gallery',
      unsubscribe,
    );
    add('connection', status, await job.compose());
  }
  const signIn = await signInEmail('integrations@acme.example', [{ url: `${galleryAppUrl}/sign-in/a-signed-token`, account: 'acme', accountName: account.name }]);
  add('sign-in', 'one-account', signIn);
  return emails;
}

const line = (error: DigestErrorRow, count = 1): ErrorLine => ({
  errorId: error.id,
  flow: error.flowName,
  integration: error.integrationName,
  traceKey: error.traceKey,
  message: error.message,
  code: error.code,
  occurredAt: error.occurredAt.toISOString(),
  count,
  url: `${galleryAppUrl}/environments/acme-production/errors/${error.id}`,
});

/** The events channels are sent, in the states that change what they say. */
function channelEvents(): { kind: string; state: string; event: ChannelEvent }[] {
  const data = { account, environment: production };
  const errors = [row('orders', 'SO-1001', 'Customer C-1001 not found in ERP'), row('orders', 'SO-2001', attempts[2]!), row('orders', 'SO-3001', hostile)];
  const url = `${galleryAppUrl}/environments/acme-production/errors?status=open`;
  const digest = (state: string, environment: typeof production, first: ErrorLine[]) => ({
    kind: 'digest',
    state,
    event: {
      type: 'herald.digest',
      version: 1,
      timestamp: at(6, 9, 15).toISOString(),
      data: {
        ...data,
        environment,
        cycle: 40,
        newErrors: 5,
        resolvedErrors: 1,
        openErrors: 18,
        firstNew: first,
        firstResolved: [line(row('customers', 'CU-0991', 'Timeout calling CRM'))],
        flows: [
          { id: 'orders', name: 'Orders', integration: 'Shop to ERP', newErrors: 5, resolvedErrors: 0, openErrors: 18, url: `${url}&flow=orders` },
          { id: 'customers', name: 'Customers', integration: 'Shop to ERP', newErrors: 0, resolvedErrors: 1, openErrors: 0, url: `${url}&flow=customers` },
        ],
        url,
      },
    } satisfies ChannelEvent,
  });
  const connection = (status: 'offline' | 'online') => ({
    kind: 'connection',
    state: status,
    event: {
      type: `herald.connection.${status}`,
      version: 1,
      timestamp: at(6, 8, 55).toISOString(),
      data: {
        ...data,
        connection: { id: 'warehouse-sftp', name: 'Warehouse SFTP' },
        status,
        reason: status === 'offline' ? 'Connection refused (ECONNREFUSED)' : null,
        usedBy: [{ integration: 'Fulfilment', flows: ['Shipments to warehouse'] }],
        errorsSince: status === 'offline' ? 3 : 0,
        url: `${galleryAppUrl}/environments/acme-production/connections/warehouse-sftp`,
      },
    } satisfies ChannelEvent,
  });
  return [
    digest('grouped', production, [line(errors[0]!), line(errors[1]!, 3), line(errors[2]!)]),
    digest('non-production', staging, [line(errors[0]!)]),
    connection('offline'),
    connection('online'),
    {
      kind: 'reminder',
      state: 'still-open',
      event: { type: 'herald.errors.reminder', version: 1, timestamp: at(6, 9).toISOString(), data: { ...data, openLongerThanMs: 3 * 86_400_000, count: 2, first: errors.slice(0, 2).map((e) => line(e)), url } },
    },
    {
      kind: 'assignment',
      state: 'two-errors',
      event: {
        type: 'herald.errors.assigned',
        version: 1,
        timestamp: at(6, 9).toISOString(),
        data: { ...data, assignee: 'owner@acme.example', assignedBy: 'integrations@acme.example', count: 2, errors: errors.slice(0, 2).map((e) => line(e)), url },
      },
    },
  ];
}

/** The signed webhook the gallery's events go to (its secret signs the gallery only). */
const galleryWebhook = { id: 1, kind: 'webhook' as const, url: 'https://hooks.acme.example/herald', secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', removed: false };

/** The PagerDuty channel the gallery's events go to. */
const galleryPagerDuty = { id: 2, kind: 'pagerduty' as const, url: 'https://events.pagerduty.com/v2/enqueue', secret: 'R0UT1NGKEY0F32LETTERSANDDIGITS00', removed: false };

/** The Slack and Teams channels the gallery's events go to, whose lines carry the actions people take from them (S45). */
const gallerySlack = { id: 3, kind: 'slack' as const, url: 'https://hooks.slack.com/services/T0/B0/gallery', secret: null, removed: false };
const galleryTeams = { id: 4, kind: 'teams' as const, url: 'https://acme.webhook.office.com/workflows/gallery', secret: null, removed: false };

/** The body a channel is posted, as sending makes it: with the links its lines act by. */
function postedWithActions(event: ChannelEvent, channel: typeof gallerySlack | typeof galleryTeams): object {
  const message = { id: channel.id, publicId: '5f0c2b1e-8d4a-4e6f-9b3c-7a1d2e4f6c80', channel };
  return JSON.parse(channelRequests(message, event, new Date(), channelActionLinks(galleryAppUrl, gallerySecret, message))[0]!.body) as object;
}

/**
 * Every channel message: each event as Slack blocks, a Teams card, a signed webhook's JSON, and
 * the PagerDuty events it becomes (none for what PagerDuty is not told of).
 */
export function galleryChannelMessages(): GalleryMessage[] {
  return channelEvents().flatMap(({ kind, state, event }) => [
    ...pagerDutyMessages(kind, state, event),
    { id: `${kind}-${state}-slack`, kind, state, transport: 'slack' as const, body: postedWithActions(event, gallerySlack) as { text: string; blocks: object[] } },
    { id: `${kind}-${state}-teams`, kind, state, transport: 'teams' as const, body: postedWithActions(event, galleryTeams) },
    {
      id: `${kind}-${state}-webhook`,
      kind,
      state,
      transport: 'webhook' as const,
      body: JSON.parse(channelRequests({ id: 1, publicId: '0b7c6a2e-5d1f-4c3e-9a8b-2f6d4e1c7a90', channel: galleryWebhook }, event)[0]!.body) as object,
    },
  ]);
}

function pagerDutyMessages(kind: string, state: string, event: ChannelEvent): GalleryMessage[] {
  const requests = channelRequests({ id: 2, publicId: null, channel: galleryPagerDuty }, event);
  if (requests.length === 0) return [];
  return [{ id: `${kind}-${state}-pagerduty`, kind, state, transport: 'pagerduty', body: requests.map((r) => JSON.parse(r.body) as object) }];
}

/** A weekly review's figures (S47): a busy week in Berlin, and a quiet one. */
function weeklyFigures(): Record<string, WeeklyReviewFigures> {
  const days = [4, 0, 9, 2, 13, 1, 0].map((reported, i) => ({ at: new Date(Date.UTC(2026, 10, 29 + i, 23)), reported, resolved: Math.max(0, reported - 1), open: 6 + i }));
  const busy: WeeklyReviewFigures = {
    timeZone: 'Europe/Berlin',
    from: days[0]!.at,
    to: at(6, 23),
    days,
    reported: 29,
    resolved: 24,
    reportedWeekBefore: 17,
    resolvedWeekBefore: 19,
    openAtEnd: 12,
    risenFlows: [
      { flowId: 'orders-to-erp', flowName: 'Orders to ERP', thisWeek: 21, lastWeek: 9 },
      { flowId: 'customers-to-crm', flowName: 'Customers to CRM', thisWeek: 6, lastWeek: 0 },
    ],
    risenGroups: [
      { flowId: 'orders-to-erp', flowName: 'Orders to ERP', groupKey: 'auto:gallery', label: messagePattern('Customer C-1042 not found in ERP'), example: 'Customer C-1042 not found in ERP', thisWeek: 13, lastWeek: 2 },
      { flowId: 'customers-to-crm', flowName: 'Customers to CRM', groupKey: 'auto:gallery-2', label: 'Credit limit exceeded', example: 'Credit limit exceeded', thisWeek: 4, lastWeek: 1 },
    ],
    resolveTime: { thisWeek: { resolved: 24, median: 'within 4 hours', p90: 'within 3 days' }, lastWeek: { resolved: 19, median: 'within a day', p90: 'within a week' } },
    downtime: [{ connectionId: 'warehouse-sftp', connectionName: 'Warehouse SFTP', outages: 2, downSeconds: 3 * 3600 + 20 * 60, down: true }],
    oldOpen: {
      count: 7,
      oldest: [
        { id: 8801, traceKey: 'SO-0801', message: 'Customer C-801 not found in ERP', flowName: 'Orders to ERP', reportedAt: at(1, 8) },
        { id: 8802, traceKey: 'CU-0802', message: 'Credit limit exceeded for customer C-802', flowName: 'Customers to CRM', reportedAt: at(1, 9) },
      ],
    },
  };
  const quiet: WeeklyReviewFigures = {
    ...busy,
    days: days.map((d) => ({ ...d, reported: 0, resolved: 0, open: 0 })),
    reported: 0,
    resolved: 0,
    reportedWeekBefore: 1,
    resolvedWeekBefore: 1,
    openAtEnd: 0,
    risenFlows: [],
    risenGroups: [],
    resolveTime: { thisWeek: null, lastWeek: { resolved: 1, median: 'within an hour', p90: 'within an hour' } },
    downtime: [],
    oldOpen: { count: 0, oldest: [] },
  };
  return { busy, quiet };
}
