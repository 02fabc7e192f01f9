/**
 * The Temporal runtime of a worker process, installed once before any connection: its logs (the
 * SDK's, workflows' and activities') go through Herald's logger, and with HERALD_METRICS_LISTEN it
 * serves Prometheus metrics: the SDK's own (task slots, schedule-to-start latency, workflow and
 * activity outcomes…) and Herald's, made on the same meter (activities/metrics.ts,
 * workflows/digest-metrics.ts, worker/operations-metrics.ts).
 */
import { Runtime, type TelemetryOptions } from '@temporalio/worker';
import type { Knex } from 'knex';
import { runtimeLogLevel, type HeraldConfig } from '../config/config.js';
import { temporalLogger, type Logger } from '../observability/log.js';
import { startOperationsGauges } from './operations-metrics.js';

export interface WorkerRuntimeOptions {
  config: Pick<HeraldConfig, 'logLevel' | 'metricsListen'>;
  logger: Logger;
  /** Signals on which the SDK shuts its workers down; `npm start` answers Ctrl-C itself ([]). */
  shutdownSignals?: NodeJS.Signals[];
}

/** Histogram buckets of Herald's own metrics, in seconds. */
const bucketsSeconds = {
  herald_report_store_seconds: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  herald_digest_cycle_seconds: [0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 900],
  herald_digest_cycle_lag_seconds: [0, 1, 5, 15, 60, 300, 900, 1800, 3600, 7200],
};

export function installWorkerRuntime({ config, logger, shutdownSignals }: WorkerRuntimeOptions): void {
  const telemetryOptions: TelemetryOptions = {
    // The SDK core's own lines from WARN (below it, they are its internals, task tokens and all).
    logging: { forward: {}, filter: { core: runtimeLogLevel(config.logLevel, 'WARN') === 'ERROR' ? 'ERROR' : 'WARN' } },
    ...(config.metricsListen && {
      metrics: {
        prometheus: {
          bindAddress: config.metricsListen,
          countersTotalSuffix: true,
          useSecondsForDurations: true,
          histogramBucketOverrides: bucketsSeconds,
        },
      },
    }),
  };
  Runtime.install({ logger: temporalLogger(logger), telemetryOptions, ...(shutdownSignals && { shutdownSignals }) });
}

/** Herald's gauges of what waits in the database, read every `everyMs` while the worker runs; returns the stop. */
export function startWorkerGauges(db: Knex, config: Pick<HeraldConfig, 'metricsListen' | 'digestIntervalMs'>, logger: Logger, everyMs = 10_000): () => void {
  if (!config.metricsListen) return () => undefined;
  return startOperationsGauges(db, Runtime.instance().metricMeter, { digestIntervalMs: config.digestIntervalMs, everyMs, logger });
}
