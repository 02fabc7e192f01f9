/**
 * Both /metrics endpoints, scraped around a digest cycle with refused recipients: the server's
 * (requests by route and status, latency, sign-in emails, rate-limit refusals) and a production
 * worker's (HERALD_METRICS_LISTEN: the Temporal SDK's own and Herald's: emails by kind and outcome,
 * SMTP refusals by class, reports stored and their latency, digest cycles, waiting deliveries).
 * The worker runs as `npm run worker` runs it, on the dev server in real time; every metric the
 * alert rules and the dashboard in deploy/ name is one that Herald really exports.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { startWorld } from './helpers/fixture.js';
import { createDevServer } from './helpers/temporal.js';
import { workerProcesses } from './helpers/worker-processes.js';
import { startServer } from './helpers/server.js';
import { freePort } from './helpers/ports.js';
import { testCatalog } from './helpers/world.js';
import { Visitor } from './helpers/visitor.js';
import { createTokenStore } from '../stores/token-store.js';
import { startChannelReceiver } from './helpers/channel-receiver.js';
import { putChannel, putTarget } from '../admin/channels.js';

/** The samples of a Prometheus text exposition, by series (`name{label="value",…}`). */
async function scrape(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(url)).text();
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

/** The sum of the samples of `name` whose labels include all of `labels`. */
function total(samples: Map<string, number>, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const [series, value] of samples) {
    const [metric, rest = ''] = series.split('{');
    if (metric !== name) continue;
    if (Object.entries(labels).every(([key, wanted]) => rest.includes(`${key}="${wanted}"`))) sum += value;
  }
  return sum;
}

/** The metrics of a scrape by name; a histogram's also by its own name (its series are `_bucket`, `_sum`, `_count`). */
const metricNames = (samples: Map<string, number>) => new Set([...samples.keys()].flatMap((series) => {
  const name = series.split('{')[0]!;
  return name.endsWith('_bucket') ? [name, name.slice(0, -'_bucket'.length)] : [name];
}));

describe('metrics', async () => {
  const temporal = await createDevServer();
  const { db, url: databaseUrl, mail } = await startWorld({
    ...testCatalog,
    subscriptions: [...testCatalog.subscriptions, { environment: 'prod', user: 'watcher@acme.test', flows: ['orders'] }],
  });
  const taskQueue = 'herald-metrics';
  // The ops team's subscriptions go to a Slack channel too (S43): its messages are counted beside the emails.
  const receiver = await startChannelReceiver();
  await putChannel(db, { actor: 'test', account: 'acme', name: 'ops-slack', kind: 'slack', url: receiver.url('/slack'), policy: { allow: ['127.0.0.1'] } });
  await putTarget(db, { actor: 'test', account: 'acme', environment: 'prod', email: 'ops@acme.test', body: { email: true, channel: 'ops-slack' } });
  const metricsPort = await freePort();
  const workerMetrics = `http://127.0.0.1:${metricsPort}/metrics`;
  await workerProcesses({
    temporalAddress: temporal.address,
    databaseUrl,
    smtpUrl: mail.url,
    taskQueue,
    variables: { HERALD_DIGEST_INTERVAL: '3s', HERALD_METRICS_LISTEN: `127.0.0.1:${metricsPort}`, HERALD_CHANNEL_ALLOW: '127.0.0.1' },
  }).start();
  const server = await startServer({ db, temporal: temporal.client, taskQueue, smtpUrl: mail.url, signInLimits: { perAddress: 1, perClient: 20 } });
  const serverMetrics = `${server.url}/metrics`;
  const { token } = await createTokenStore(db).create('acme', 'metrics');
  /** A report to the server's API; answers its status. */
  const report = async (body: object) =>
    (await fetch(`${server.url}/api/v1/errors`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })).status;

  it('move as a report is stored, a digest cycle sends, fails and defers, a sign-in email goes out and a limit refuses', async () => {
    const serverBefore = await scrape(serverMetrics);
    const workerBefore = await scrape(workerMetrics);
    // ops is accepted, the orders team refused for good (550), the watcher for now (451).
    mail.refuseAt('orders-team@acme.test', 'rcpt', 550);
    mail.refuseAt('watcher@acme.test', 'rcpt', 451);

    expect(await report({ environment: 'prod', flow: 'orders', reportId: 'metrics-1', errors: [{ traceKey: 'SO-M1', message: 'Customer not found' }] })).toBe(200);
    expect(await report({ environment: 'prod', flow: 'orders', errors: [] })).toBe(400);
    // A flow Herald does not know: refused by the activity that would store it (a failed activity for the SDK's metrics).
    expect(await report({ environment: 'prod', flow: 'no-such-flow', reportId: 'metrics-2', errors: [{ traceKey: 'X-1', message: 'Lost' }] })).toBe(400);
    const visitor = new Visitor(server.url);
    expect((await visitor.submit('/sign-in', { email: 'ops@acme.test' })).status).toBe(200);
    expect((await visitor.submit('/sign-in', { email: 'ops@acme.test' })).status).toBe(429);

    // The worker: the report stored, then a cycle's three outcomes, then the deferred one waiting.
    const moved = async (name: string, labels: Record<string, string> = {}) => total(await scrape(workerMetrics), name, labels) - total(workerBefore, name, labels);
    await expect.poll(() => moved('herald_errors_stored_total'), { timeout: 30_000 }).toBe(1);
    await expect.poll(() => moved('herald_emails_total', { kind: 'digest', outcome: 'sent' }), { timeout: 30_000 }).toBeGreaterThanOrEqual(1);
    await expect.poll(() => moved('herald_emails_total', { kind: 'digest', outcome: 'failed' }), { timeout: 30_000 }).toBeGreaterThanOrEqual(1);
    await expect.poll(() => moved('herald_emails_total', { kind: 'digest', outcome: 'deferred' }), { timeout: 30_000 }).toBeGreaterThanOrEqual(1);
    await expect.poll(() => moved('herald_channel_messages_total', { channel: 'slack', kind: 'digest', outcome: 'sent' }), { timeout: 30_000 }).toBe(1);
    // S49: one metric for every notification, whatever carries it; the two above stay for a release.
    for (const [labels, old] of [
      [{ transport: 'email', kind: 'digest', outcome: 'sent' }, ['herald_emails_total', { kind: 'digest', outcome: 'sent' }]],
      [{ transport: 'email', kind: 'digest', outcome: 'failed' }, ['herald_emails_total', { kind: 'digest', outcome: 'failed' }]],
      [{ transport: 'email', kind: 'digest', outcome: 'deferred' }, ['herald_emails_total', { kind: 'digest', outcome: 'deferred' }]],
      [{ transport: 'slack', kind: 'digest', outcome: 'sent' }, ['herald_channel_messages_total', { channel: 'slack', kind: 'digest', outcome: 'sent' }]],
    ] as const) {
      expect(await moved('herald_notifications_total', labels), JSON.stringify(labels)).toBe(await moved(old[0], old[1]));
    }
    await expect.poll(async () => total(await scrape(workerMetrics), 'herald_deliveries_deferred'), { timeout: 30_000 }).toBeGreaterThanOrEqual(1);
    const worker = await scrape(workerMetrics);
    expect(total(worker, 'herald_smtp_refusals_total', { class: '5xx' }) - total(workerBefore, 'herald_smtp_refusals_total', { class: '5xx' })).toBeGreaterThanOrEqual(1);
    expect(total(worker, 'herald_smtp_refusals_total', { class: '4xx' }) - total(workerBefore, 'herald_smtp_refusals_total', { class: '4xx' })).toBeGreaterThanOrEqual(1);
    expect(total(worker, 'herald_report_store_seconds_count') - total(workerBefore, 'herald_report_store_seconds_count')).toBe(1);
    expect(total(worker, 'herald_digest_cycle_seconds_count')).toBeGreaterThan(total(workerBefore, 'herald_digest_cycle_seconds_count'));
    expect(total(worker, 'herald_digest_cycle_lag_seconds_count')).toBeGreaterThan(0);
    expect(total(worker, 'herald_delivery_oldest_pending_seconds')).toBeGreaterThan(0);
    expect(total(worker, 'herald_digest_interval_seconds')).toBe(3);
    // News no digest has taken yet: none once the cycle took the report's (#40).
    expect([...worker.keys()].filter((series) => series.startsWith('herald_digest_news_waiting_seconds'))).toHaveLength(1);
    await expect.poll(async () => total(await scrape(workerMetrics), 'herald_digest_news_waiting_seconds'), { timeout: 30_000 }).toBe(0);
    // The SDK's own metrics, on the same endpoint.
    expect(total(worker, 'temporal_worker_task_slots_available', { worker_type: 'ActivityWorker' })).toBeGreaterThan(0);

    // The server: requests by route pattern and status, their latency, the sign-in email, the 429.
    await expect.poll(async () => total(await scrape(serverMetrics), 'herald_sign_in_emails_total') - total(serverBefore, 'herald_sign_in_emails_total'), { timeout: 10_000 }).toBe(1);
    const after = await scrape(serverMetrics);
    const requests = (labels: Record<string, string>) => total(after, 'herald_http_requests_total', labels) - total(serverBefore, 'herald_http_requests_total', labels);
    expect(requests({ method: 'POST', route: '/api/v1/errors', status: '200' })).toBe(1);
    expect(requests({ method: 'POST', route: '/api/v1/errors', status: '400' })).toBe(2);
    expect(requests({ method: 'POST', route: '/sign-in', status: '429' })).toBe(1);
    expect(total(after, 'herald_rate_limit_refusals_total', { route: '/sign-in' }) - total(serverBefore, 'herald_rate_limit_refusals_total', { route: '/sign-in' })).toBe(1);
    expect(total(after, 'herald_http_request_duration_seconds_count', { method: 'POST', route: '/api/v1/errors' })).toBeGreaterThanOrEqual(3);
    // The report of an unknown flow: its store (a local activity) failed, as the SDK counts it.
    expect(total(worker, 'temporal_local_activity_execution_failed_total', { activity_type: 'storeErrorReport' })).toBeGreaterThanOrEqual(1);

    // The mail server down for a cycle: its send activity fails (for Temporal to retry), and the SDK counts that too.
    mail.setOutage(true);
    expect(await report({ environment: 'prod', flow: 'orders', reportId: 'metrics-3', errors: [{ traceKey: 'SO-M3', message: 'Customer not found' }] })).toBe(200);
    await expect.poll(async () => total(await scrape(workerMetrics), 'temporal_activity_execution_failed_total'), { timeout: 30_000 }).toBeGreaterThanOrEqual(1);
    mail.setOutage(false);
  });

  it('label nothing that grows with customers, and export every metric the alert rules and the dashboard name', async () => {
    const [server, worker] = await Promise.all([scrape(serverMetrics), scrape(workerMetrics)]);
    const herald = [...server.keys(), ...worker.keys()].filter((series) => series.startsWith('herald_'));
    expect(herald.length).toBeGreaterThan(20);
    for (const series of herald) expect(series).not.toMatch(/\b(environment|user|account|email|flow|recipient|token|error_key)="/);
    // Routes are patterns: no id, address or token of a request becomes a label value.
    for (const series of herald.filter((s) => s.startsWith('herald_http_'))) expect(series).not.toMatch(/route="[^"]*(ops@|SO-M1|hrld_)/);

    const exported = new Set([...metricNames(server), ...metricNames(worker)]);
    const named = (file: string) => new Set(readFileSync(new URL(`../deploy/${file}`, import.meta.url), 'utf8').match(/\b(herald|temporal)_[a-z_]+/g));
    const deployed = new Set([...named('prometheus/herald-alerts.yml'), ...named('grafana/herald-dashboard.json')]);
    // Names in an alert's prose (herald_smtp_refusals_total) are checked too.
    const missing = [...deployed].filter((name) => !exported.has(name));
    expect(missing).toEqual([]);
    expect(deployed.size).toBeGreaterThan(15);
  });
});
