/**
 * Herald's metrics made in activities, on the meter of the current activity (the worker's Temporal
 * runtime exports them with the SDK's own; nothing when the worker serves no metrics). Labels are
 * kinds and outcomes, never an environment or a user: their values do not grow with customers.
 */
import { Context } from '@temporalio/activity';
import type { NotificationJob, SendTally } from '../notifications/send.js';
import type { RefusalObserver } from '../notifications/email-transport.js';
import type { StoredReport } from '../stores/error-store.js';

/**
 * Counts every notification's outcome (S49) by kind, the transport that carries it (email, slack,
 * teams, webhook, pagerduty) and outcome; and, kept for one release beside it (0.3.0), the same as
 * herald_emails (emails) and herald_channel_messages (posts).
 */
export function notificationMetrics(): (job: NotificationJob, outcome: keyof SendTally) => void {
  const meter = Context.current().metricMeter;
  const notifications = meter.createCounter(
    'herald_notifications',
    '',
    'Notifications by kind (digest, connection, reminder, assignment, weekly), transport (email, slack, teams, webhook, pagerduty) and outcome (sent, failed, deferred, cancelled)',
  );
  const emails = meter.createCounter('herald_emails', '', 'Emails by kind (digest, connection, reminder, assignment, weekly) and outcome (sent, failed, deferred, cancelled)');
  const messages = meter.createCounter(
    'herald_channel_messages',
    '',
    'Channel messages by channel (slack, teams, webhook), kind (digest, connection) and outcome (sent, failed, deferred, cancelled)',
  );
  return ({ kind, transport }, outcome) => {
    notifications.add(1, { kind, transport, outcome });
    if (transport === 'email') emails.add(1, { kind, outcome });
    else messages.add(1, { channel: transport, kind, outcome });
  };
}

/** Counts each SMTP refusal by the email's kind and its reply's class (4xx, 5xx; `none`: an address Herald will not send to). */
export function smtpRefusalMetrics(): RefusalObserver {
  const refusals = Context.current().metricMeter.createCounter('herald_smtp_refusals', '', 'Recipients the SMTP server refused, by kind and reply class (4xx for now, 5xx for good)');
  return (kind, refusal) => refusals.add(1, { kind, class: refusal.code === undefined ? 'none' : `${Math.floor(refusal.code / 100)}xx` });
}

/** Times the storing of an error report, and counts the errors it stored (a repeat of a stored one is not counted). */
export async function measuredReportStore<T extends StoredReport>(store: () => Promise<T>): Promise<T> {
  const meter = Context.current().metricMeter;
  const started = performance.now();
  const stored = await store();
  meter.createHistogram('herald_report_store_seconds', 'float', 's', 'Time to store one error report in PostgreSQL').record((performance.now() - started) / 1000);
  meter.createCounter('herald_errors_stored', '', 'Errors stored from reports (duplicates of a stored report not counted)').add(stored.stored);
  return stored;
}
