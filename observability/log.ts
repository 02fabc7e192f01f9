/**
 * Herald's one logger (pino, Fastify's own) for the server, the worker and the command line: one
 * JSON line per event in production, readable lines in `npm start` (which hands in a pretty
 * stream). Every line names its service; HERALD_LOG_LEVEL sets the level. The Temporal runtime
 * (workflow and activity logs with their workflow id and run id, and the SDK core's own) writes
 * through it too, by {@link temporalLogger}.
 *
 * What would let a reader in is never handed to it: the server logs no header, and masks the
 * tokens of sign-in and unsubscribe links in URLs (server/logging.ts).
 */
import type { LogLevel as TemporalLogLevel, LogMetadata, Logger as TemporalLogger } from '@temporalio/common';
import pino, { type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from '../config/config.js';

export type { Logger } from 'pino';

export type Service = 'herald' | 'herald-server' | 'herald-worker' | 'herald-cli';

/** A logger for `service` at `level`, writing JSON lines to `stream` (default standard output). */
export function heraldLogger(service: Service, level: LogLevel, stream?: DestinationStream): Logger {
  return pino({ level, base: { service }, timestamp: pino.stdTimeFunctions.isoTime }, stream);
}

const pinoLevels: Record<TemporalLogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/**
 * The Temporal runtime's logger on a Herald logger: what workflows, activities and the worker log
 * (with their metadata: workflow id, run id, activity, task queue) and what the SDK's core
 * forwards, as lines of the same log.
 */
export function temporalLogger(logger: Logger): TemporalLogger {
  const log = (level: TemporalLogLevel, message: string, meta?: LogMetadata) => {
    const { sdkComponent, ...fields } = meta ?? {};
    logger[pinoLevels[level]]({ ...fields, ...(sdkComponent !== undefined && { component: sdkComponent }) }, message);
  };
  return {
    log,
    trace: (message, meta) => log('TRACE', message, meta),
    debug: (message, meta) => log('DEBUG', message, meta),
    info: (message, meta) => log('INFO', message, meta),
    warn: (message, meta) => log('WARN', message, meta),
    error: (message, meta) => log('ERROR', message, meta),
  };
}
