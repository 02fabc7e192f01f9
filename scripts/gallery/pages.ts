/**
 * Every page people see (S48), rendered from fixtures through the server's page renderer, with
 * the models its routes build: errors (listed, grouped, one group), an error, a connection,
 * settings, my emails, sign-in and its steps, unsubscribe, the account's pages, the overview
 * (S47) and the pages an email's action links open (S45).
 */
import { renderPage } from '../../server/page-renderer.js';
import type { PageModels, PageName } from '../../server/page-models.js';
import { emailPageLines } from '../../server/routes/emails.js';
import { channelRows, messageLines } from '../../server/routes/channels.js';
import { weeklyReviewForm } from '../../server/routes/notifications.js';
import { channelKindChoices } from '../../contracts/channel.js';
import { channelView } from '../../admin/channels.js';
import { describeRhythm } from '../../contracts/rhythm.js';
import type { Person } from '../../stores/people-store.js';
import type { ErrorGroupRow, ErrorRow, EmailLine } from '../../stores/page-store.js';
import { groupLabel, errorFingerprint } from '../../stores/fingerprint.js';
import { trendChart } from '../../server/trend-charts.js';
import type { TrendPoint } from '../../stores/trend-store.js';

export interface GalleryPage {
  id: string;
  title: string;
  html: string;
}

const at = (day: number, hour: number, minute = 0) => new Date(Date.UTC(2026, 11, day, hour, minute));
const person: Person = { id: 3, email: 'integrations.team.lead@acme-outfitters.example', name: 'Ida Integrations', role: 'owner', account: 'acme', accountName: 'Acme Outfitters' };
const environment = { id: 'acme-production', name: 'Production', production: true, resourceGroup: 'acme' };
const staging = { id: 'acme-staging', name: 'Staging', production: false, resourceGroup: 'acme' };
const users = [
  { id: 3, email: person.email, name: person.name },
  { id: 4, email: 'owner@acme.example', name: null },
];
const flows = [{ integration: { id: 'storefront', name: 'Storefront to ERP' }, flows: [{ id: 'orders-to-erp', name: 'Orders to ERP' }, { id: 'customers-to-crm', name: 'Customers to CRM' }] }];

const errorRow = (id: number, traceKey: string, message: string, more: Partial<ErrorRow> = {}): ErrorRow => ({
  id,
  flowId: 'orders-to-erp',
  flowName: 'Orders to ERP',
  integrationName: 'Storefront to ERP',
  traceKey,
  message,
  code: 'NOT_FOUND',
  step: 'Create sales order',
  occurredAt: at(6, 9, id % 60),
  resolvedAt: null,
  resolutionReason: null,
  resolvedBy: null,
  assignee: null,
  status: 'open',
  ...more,
});

const errors = [
  errorRow(101, 'SO-1001', 'Customer C-1001 not found in ERP', { assignee: 'owner@acme.example' }),
  errorRow(102, 'SO-2003', 'A3 attempt 3 failed x1'),
  errorRow(103, 'SO-2002', 'A3 attempt 2 failed x1', { status: 'resolved', resolvedAt: at(6, 9, 40), resolvedBy: 'owner@acme.example' }),
  errorRow(104, 'ORDER-' + '9'.repeat(80), `Payload rejected: ${'x'.repeat(200)}`, { status: 'retrying' }),
];

const group = (message: string, latest: string, count: number): ErrorGroupRow => {
  const fingerprint = errorFingerprint(message);
  return { flowId: 'orders-to-erp', flowName: 'Orders to ERP', fingerprint, label: groupLabel(message, fingerprint), latestMessage: latest, count, open: count - 1, firstSeen: at(6, 8), lastSeen: at(6, 9, 14) };
};
const errorGroups = [group('A3 attempt 1 failed x1', 'A3 attempt 3 failed x1', 3), group('Customer C-1001 not found in ERP', 'Customer C-1001 not found in ERP', 1)];

const errorsModel = (more: Partial<PageModels['errors']>): PageModels['errors'] => ({
  title: 'Errors',
  wide: true,
  person,
  environment,
  groups: flows,
  statuses: [
    { value: 'open', label: 'open' },
    { value: 'retrying', label: 'retrying' },
    { value: 'resolved', label: 'resolved' },
    { value: 'auto_resolved', label: 'auto-resolved' },
  ],
  filter: { status: 'open', sinceText: '', untilText: '' },
  integrations: [{ id: 'storefront', name: 'Storefront to ERP', selected: false }],
  mine: false,
  grouped: true,
  errorGroups: [],
  errors: [],
  here: '/environments/acme-production/errors?status=open',
  canResolve: true,
  users,
  ...more,
});

const emailLines: EmailLine[] = [
  { kind: 'assignment', at: at(6, 9, 20), environment: 'acme-production', environmentName: 'Production', cycle: null, deliveryId: 502, status: 'pending', subject: null, lastError: null, sentAt: null, heldUntil: at(6, 12), nothingNew: false, quietCycles: 1, firstCycle: null, post: null },
  { kind: 'reminder', at: at(6, 9, 18), environment: 'acme-production', environmentName: 'Production', cycle: null, deliveryId: null, status: 'pending', subject: null, lastError: 'HTTP 503: Service Unavailable', sentAt: null, heldUntil: null, nothingNew: false, quietCycles: 1, firstCycle: null, post: { id: 77, channel: 'ops-slack', channelKind: 'slack', retryAt: at(6, 9, 28) } },
  { kind: 'digest', at: at(6, 9, 15), environment: 'acme-production', environmentName: 'Production', cycle: 40, deliveryId: null, status: 'sent', subject: null, lastError: null, sentAt: at(6, 9, 15), heldUntil: null, nothingNew: false, quietCycles: 1, firstCycle: 40, post: { id: 76, channel: 'ops-slack', channelKind: 'slack', retryAt: null } },
  { kind: 'digest', at: at(6, 9, 15), environment: 'acme-production', environmentName: 'Production', cycle: 40, deliveryId: 501, status: 'sent', subject: '3 new errors in Acme Outfitters flows', lastError: null, sentAt: at(6, 9, 15), heldUntil: null, nothingNew: false, quietCycles: 1, firstCycle: 40, post: null },
  { kind: 'digest', at: at(6, 9), environment: 'acme-production', environmentName: 'Production', cycle: 39, deliveryId: null, status: null, subject: null, lastError: null, sentAt: null, heldUntil: null, nothingNew: true, quietCycles: 12, firstCycle: 28, post: null },
  { kind: 'assignment', at: at(6, 6), environment: 'acme-production', environmentName: 'Production', cycle: null, deliveryId: 498, status: 'failed', subject: null, lastError: '550 5.1.1 mailbox unavailable', sentAt: null, heldUntil: null, nothingNew: false, quietCycles: 1, firstCycle: null, post: null },
  { kind: 'connection', at: at(6, 5), environment: 'acme-staging', environmentName: 'Staging', cycle: null, deliveryId: 497, status: 'sent', subject: '[Staging] Connection Warehouse SFTP is offline', lastError: null, sentAt: at(6, 5, 1), heldUntil: null, nothingNew: false, quietCycles: 1, firstCycle: null, post: null },
];

/** The rhythm part of the settings page's model, as the settings route builds it. */
const rhythm = {
  every: 'day',
  at: '08:00',
  timeZone: 'Europe/Berlin',
  described: describeRhythm({ every: 'day', at: '08:00', timeZone: 'Europe/Berlin', quietHours: { from: '22:00', to: '07:00', connectionEmails: true } }),
  quiet: { from: '22:00', to: '07:00', connectionEmails: true },
  quietOn: true,
  is_day: true,
};

/** The overview (S47) of a production environment whose orders flow got noisy this morning. */
function overviewModel(): PageModels['overview'] {
  const zone = 'Europe/Berlin';
  const now = at(7, 10, 20);
  const hour = 3_600_000;
  // New and resolved per hour, a quiet night, a busy morning; open counted on from 40.
  let open = 40;
  const hours: TrendPoint[] = Array.from({ length: 48 }, (_, i) => {
    const reported = i > 40 ? [3, 9, 14, 11, 6, 4, 2][i - 41]! : i % 5 === 0 ? 1 : 0;
    const resolved = i > 42 ? 2 : i % 7 === 0 ? 1 : 0;
    open += reported - resolved;
    return { at: new Date(Math.floor(now.getTime() / hour) * hour - (47 - i) * hour), reported, resolved, open };
  });
  open = 25;
  const days: TrendPoint[] = Array.from({ length: 30 }, (_, i) => {
    const reported = 6 + ((i * 7) % 11) + (i === 29 ? 30 : 0);
    const resolved = 5 + ((i * 5) % 9);
    open += reported - resolved;
    return { at: new Date(Date.UTC(2026, 10, 8 + i) - hour), reported, resolved, open };
  });
  const link = '/environments/acme-production/errors?since=2026-12-07&until=2026-12-07&grouped=0';
  return {
    title: 'Overview',
    wide: true,
    person,
    environment,
    groups: flows,
    timeZone: zone,
    openNow: open - 2,
    openLink: '/environments/acme-production/errors?status=open',
    retryingNow: 2,
    retryingLink: '/environments/acme-production/errors?status=retrying',
    charts: [
      trendChart({ id: 'hours', title: 'Errors, the last 48 hours', unit: 'hour', points: hours, zone, tickEvery: 6, link: () => link }),
      trendChart({ id: 'days', title: 'Errors, the last 30 days', unit: 'day', points: days, zone, tickEvery: 5, link: () => link }),
    ],
    noisiest: [
      { flowId: 'orders-to-erp', flowName: 'Orders to ERP', thisWeek: 112, lastWeek: 64, change: '+75 %', thisWidth: 100, lastWidth: 57, href: '/environments/acme-production/errors?flow=orders-to-erp', overview: '/environments/acme-production/overview?flow=orders-to-erp' },
      { flowId: 'customers-to-crm', flowName: 'Customers to CRM', thisWeek: 9, lastWeek: 21, change: '−57 %', thisWidth: 8, lastWidth: 19, href: '/environments/acme-production/errors?flow=customers-to-crm', overview: '/environments/acme-production/overview?flow=customers-to-crm' },
    ],
    noisiestGroups: [
      { flowId: 'orders-to-erp', flowName: 'Orders to ERP', groupKey: errorFingerprint('Customer C-1001 not found in ERP'), label: groupLabel('Customer C-1001 not found in ERP', errorFingerprint('Customer C-1001 not found in ERP')), example: 'Customer C-1187 not found in ERP', thisWeek: 87, lastWeek: 12, change: '+625 %', href: '/environments/acme-production/errors?flow=orders-to-erp' },
    ],
    resolveTimes: [
      { flowId: 'orders-to-erp', flowName: 'Orders to ERP', resolved: 58, median: 'within 4 hours', p90: 'within 3 days', href: '/environments/acme-production/errors?flow=orders-to-erp&status=resolved' },
      { flowId: 'customers-to-crm', flowName: 'Customers to CRM', resolved: 17, median: 'within an hour', p90: 'within a day', href: '/environments/acme-production/errors?flow=customers-to-crm&status=resolved' },
    ],
    downtime: [{ connectionId: 'warehouse-sftp', connectionName: 'Warehouse SFTP', outages: 2, downSeconds: 9000, down: true, offline: '3 hours', href: '/environments/acme-production/connections/warehouse-sftp' }],
  };
}

/** Every page, by name and state. */
export function galleryPages(): GalleryPage[] {
  const pages: GalleryPage[] = [];
  const add = <N extends PageName>(id: string, name: N, model: PageModels[N]) => pages.push({ id, title: model.title, html: renderPage(name, { ...model, csrf: 'gallery-csrf-token' }) });
  add('home', 'home', { title: 'Herald', person, environments: [environment, staging], mayAudit: true });
  add('errors-grouped', 'errors', errorsModel({ errorGroups }));
  add('errors-list', 'errors', errorsModel({ grouped: false, errors, mine: true, resolved: '2' }));
  add('errors-group', 'errors', errorsModel({ grouped: false, group: errorGroups[0], filter: { group: errorGroups[0]!.fingerprint, flow: 'orders-to-erp', sinceText: '', untilText: '' }, errors: errors.slice(1, 3) }));
  add('error', 'error', {
    title: 'Error',
    person,
    environment,
    error: { ...errors[0]!, errorKey: 'orders-run-77/SO-1001', reportId: 'orders-run-77', record: { salesOrder: 'SO-1001', customer: 'C-1001' }, announcedIn: { number: 40, at: at(6, 9, 15) }, snooze: { until: at(7, 9, 15), eventsLeft: null, by: 'ops@acme.example', via: null }, sameTraceKey: [errors[2]!] },
    record: JSON.stringify({ salesOrder: 'SO-1001', customer: 'C-1001' }, null, 2),
    here: '/environments/acme-production/errors/101',
    canResolve: true,
    users,
  });
  add('connection', 'connection', {
    title: 'Warehouse SFTP',
    person,
    environment,
    connection: {
      id: 'warehouse-sftp',
      name: 'Warehouse SFTP',
      status: 'offline',
      since: at(6, 8, 55),
      reason: 'Connection refused (ECONNREFUSED) at sftp.warehouse.example:22',
      history: [
        { status: 'offline', reason: 'Connection refused (ECONNREFUSED)', changedAt: at(6, 8, 55) },
        { status: 'online', reason: null, changedAt: at(5, 17) },
      ],
      usedBy: [{ integration: 'Fulfilment', flows: ['Shipments to warehouse', 'Stock levels from warehouse'] }],
    },
  });
  add('settings', 'settings', {
    title: 'Notification settings',
    person,
    environment,
    subject: users[0]!,
    forOther: false,
    userQuery: '',
    environments: [environment, staging],
    users,
    groups: flows.map((g) => ({ ...g, allFlows: false, flows: g.flows.map((f, i) => ({ ...f, chosen: i === 0 })) })),
    connections: [{ id: 'warehouse-sftp', name: 'Warehouse SFTP', chosen: true }],
    chosenAt: at(1, 10),
    saved: false,
    rhythm,
    timeZones: ['Europe/Berlin', 'UTC', 'America/New_York'],
    rhythmSaved: false,
    weeklyReview: weeklyReviewForm({ on: true, day: 'monday', at: '08:00' }, 'Europe/Berlin'),
    weeklySaved: false,
    target: { email: true, channel: 'ops-slack' },
    channels: [{ name: 'ops-slack', kind: 'slack', chosen: true }],
    targetSaved: false,
  });
  add('my-emails', 'emails', { title: 'My messages', wide: true, person, lines: emailPageLines(emailLines) });
  add('sign-in', 'sign-in', { title: 'Sign in', next: '/environments/acme-production/errors/101' });
  add('sign-in-sent', 'sign-in-sent', { title: 'Check your email', email: person.email, next: '/' });
  add('sign-in-confirm', 'sign-in-confirm', { title: 'Sign in', signingIn: person, token: 'a-signed-token' });
  add('sign-in-invalid', 'sign-in-invalid', { title: 'Sign-in link not valid' });
  add('unsubscribe', 'unsubscribe', { title: 'Unsubscribe', email: person.email, what: 'error emails of Production', token: 'a-signed-token', environmentId: 'acme-production' });
  add('unsubscribe-done', 'unsubscribe', { title: 'Unsubscribed', email: person.email, what: 'error emails of Production', token: 'a-signed-token', environmentId: 'acme-production', done: true });
  add('account-changes', 'account', {
    title: 'Changes',
    wide: true,
    person,
    events: [{ id: 9, at: at(6, 8), account: 'acme', actor: 'token:platform-sync', action: 'changed', kind: 'subscriptions', entity: 'acme-production/owner@acme.example', detail: {} }],
  });
  add('account-channels', 'channels', {
    title: 'Channels',
    person,
    ...channelKindChoices(),
    channels: channelRows([
      channelView({ id: 1, name: 'ops-slack', kind: 'slack', url: 'https://hooks.slack.com/services/T000/B000/XXXX', createdAt: at(1, 9) }, null),
      channelView({ id: 2, name: 'morning-room', kind: 'teams', url: 'https://acme.webhook.office.com/webhookb2/XXXX', createdAt: at(2, 9) }, { every: 'day', at: '09:00', timeZone: 'Europe/Berlin', quietHours: null }),
    ]),
    made: { name: 'erp-webhook', secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' },
  });
  add('account-messages', 'messages', {
    title: 'Messages',
    wide: true,
    person,
    messages: messageLines([
      { id: 3, transport: 'email', channel: null, channelKind: null, recipient: 'ana@acme.example', environment: 'Production', kind: 'assignment', status: 'pending', attempts: 0, lastStatus: null, lastError: null, retryAt: at(7, 7), heldUntil: at(7, 7), createdAt: at(7, 3), sentAt: null },
      { id: 2, transport: 'email', channel: null, channelKind: null, recipient: 'ops@acme.example', environment: 'Production', kind: 'digest', status: 'sent', attempts: 1, lastStatus: null, lastError: null, retryAt: null, heldUntil: null, createdAt: at(6, 9, 15), sentAt: at(6, 9, 15) },
      { id: 1, transport: 'slack', channel: 'ops-slack', channelKind: 'slack', recipient: null, environment: 'Production', kind: 'digest', status: 'sent', attempts: 1, lastStatus: 200, lastError: null, retryAt: null, heldUntil: null, createdAt: at(6, 9, 15), sentAt: at(6, 9, 15) },
    ]),
  });
  add('overview', 'overview', overviewModel());
  add('act-ask', 'act', {
    title: 'Resolve',
    state: 'ask',
    heading: 'Resolve?',
    message: `Resolve "Customer C-1001 not found in ERP" (trace key SO-1001) in Orders to ERP, as ${person.email}.`,
    token: 'a-signed-token',
    errorUrl: '/environments/acme-production/errors/101',
  });
  add('act-done', 'act', {
    title: 'Done',
    state: 'done',
    heading: 'Done',
    message: '13 errors snoozed for a day: 13 open errors like "Customer ‹value› not found in ERP" in Orders to ERP.',
    example: '"Customer "C-88" not found in ERP" (trace key SO-7F3A-1001)',
    errorUrl: '/environments/acme-production/errors/101',
  });
  add('act-refused', 'act', {
    title: 'This link has expired',
    state: 'refused',
    heading: 'This link has expired',
    message: 'The links of an email act for 7 days; this one was sent on Sat, 28 Nov 2026 09:15:00 GMT. Open the error to act on it there.',
    errorUrl: '/environments/acme-production/errors/101',
  });
  add('refused', 'refused', { title: 'Not saved', person, problems: [{ field: 'quietFrom', message: 'quiet hours need a time such as 22:00' }], back: '/environments/acme-production/notifications' });
  add('not-found', 'not-found', { title: 'Not found', person });
  return pages;
}
