/**
 * Herald's gauges of what waits in the database (stores/operations-store.ts), set on the worker's
 * Temporal meter every few seconds, beside the digest interval they are judged against. Every
 * worker reports the same figures: dashboards and alerts take the maximum across workers.
 */
import type { MetricMeter } from '@temporalio/common';
import type { Knex } from 'knex';
import type { Logger } from '../observability/log.js';
import { readOperations } from '../stores/operations-store.js';

export function startOperationsGauges(db: Knex, meter: MetricMeter, options: { digestIntervalMs: number; everyMs: number; logger?: Logger }): () => void {
  const gauge = (name: string, description: string, unit = '') => meter.createGauge(name, 'float', unit, description);
  const pending = gauge('herald_deliveries_pending', 'Notifications (emails and channel messages) planned and waiting to be sent (not deferred)');
  const deferred = gauge('herald_deliveries_deferred', 'Notifications refused for now (an SMTP 4xx, a channel 429 or 5xx) or being posted, waiting for their next attempt');
  const oldest = gauge('herald_delivery_oldest_pending_seconds', 'Age of the oldest notification still pending or deferred', 's');
  const waiting = gauge('herald_digest_news_waiting_seconds', 'Seconds the oldest news (an error opened or resolved) that no digest has taken yet has waited', 's');
  gauge('herald_digest_interval_seconds', 'The digest interval the workers are configured with (HERALD_DIGEST_INTERVAL)', 's').set(options.digestIntervalMs / 1000);

  let reading: Promise<void> | undefined;
  const read = () => {
    reading ??= readOperations(db)
      .then((now) => {
        pending.set(now.pendingDeliveries);
        deferred.set(now.deferredDeliveries);
        oldest.set(now.oldestPendingSeconds);
        waiting.set(now.newsWaitingSeconds);
      })
      // A database outage is seen in Herald's other metrics and its logs; the gauges keep their last values.
      .catch((error: unknown) => options.logger?.warn({ err: error }, 'operations gauges not read'))
      .finally(() => (reading = undefined));
  };
  read();
  const timer = setInterval(read, options.everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
