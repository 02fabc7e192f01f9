/**
 * Herald's metrics made in activities, on the meter of the current activity (the worker's Temporal
 * runtime exports them with the SDK's own; nothing when the worker serves no metrics). Labels are
 * kinds and outcomes, never an environment or a user: their values do not grow with customers.
 */
import { Context } from '@temporalio/activity';
import type { DeliveryObserver } from '../email/send-deliveries.js';
import type { StoredReport } from '../stores/error-store.js';

/** Every notification's outcome (S49), by kind, the transport that carries it (email, slack, teams, webhook, pagerduty) and outcome. */
function notificationCounter() {
  return Context.current().metricMeter.createCounter(
    'herald_notifications',
    '',
    'Notifications by kind (digest, connection, reminder, assignment, weekly), transport (email, slack, teams, webhook, pagerduty) and outcome (sent, failed, deferred, cancelled)',
  );
}

/** Counts each email's outcome by kind, and each SMTP refusal by its code's class (4xx, 5xx; `none`: an address Herald will not send to). */
export function deliveryMetrics(): DeliveryObserver {
  const meter = Context.current().metricMeter;
  // Kept for one release beside herald_notifications (0.3.0), which says the same with transport="email".
  const emails = meter.createCounter('herald_emails', '', 'Emails by kind (digest, connection, reminder, assignment, weekly) and outcome (sent, failed, deferred, cancelled)');
  const notifications = notificationCounter();
  const refusals = meter.createCounter('herald_smtp_refusals', '', 'Recipients the SMTP server refused, by kind and reply class (4xx for now, 5xx for good)');
  return {
    outcome: (kind, outcome) => {
      emails.add(1, { kind, outcome });
      notifications.add(1, { kind, transport: 'email', outcome });
    },
    refused: (kind, refusal) => refusals.add(1, { kind, class: refusal.code === undefined ? 'none' : `${Math.floor(refusal.code / 100)}xx` }),
  };
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

/** Counts each channel message's outcome (S43) by channel kind (slack, teams, webhook), message kind and outcome, beside the emails'. */
export function channelMetrics(): (outcome: string, channel: string, kind: string) => void {
  // Kept for one release beside herald_notifications (0.3.0), which says the same with transport=<channel>.
  const messages = Context.current().metricMeter.createCounter(
    'herald_channel_messages',
    '',
    'Channel messages by channel (slack, teams, webhook), kind (digest, connection) and outcome (sent, failed, deferred, cancelled)',
  );
  const notifications = notificationCounter();
  return (outcome, channel, kind) => {
    messages.add(1, { channel, kind, outcome });
    notifications.add(1, { kind, transport: channel, outcome });
  };
}
