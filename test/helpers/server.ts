import { afterAll, expect } from 'vitest';
import { Connection, type Client } from '@temporalio/client';
import type { Knex } from 'knex';
import { loadConfig } from '../../config/config.js';
import { createTemporalClient } from '../../client/payload-codec.js';
import { runServer, type RunningServer, type RunServerOptions } from '../../server/run-server.js';
import { testSecret } from './herald.js';

/**
 * Herald's server as `npm run server` and `npm start` build it (runServer), on the test's database,
 * listening on a free port of 127.0.0.1 (or `port`); stopped when the file ends.
 */
export async function startServer(options: {
  db: Knex;
  /** The Temporal client of the test's Herald; default a lazy one that nothing answers (tests without Temporal). */
  temporal?: Client;
  taskQueue?: string;
  /** Where sign-in emails go; default one that nothing listens on. */
  smtpUrl?: string;
  port?: number;
  /** HERALD_APP_URL; default the server's own address. */
  appUrl?: string;
  /** More of Herald's environment variables (HERALD_API_RATE, HERALD_TRUST_PROXY, …). */
  variables?: Record<string, string>;
  signInLimits?: RunServerOptions['signInLimits'];
  /** Where the server's log goes; default nowhere (a test that reads it passes its own). */
  logStream?: RunServerOptions['logStream'];
  /** The pages' clock; default the system's. */
  clock?: RunServerOptions['clock'];
}): Promise<RunningServer> {
  const port = options.port ?? 0;
  const config = loadConfig({
    SMTP_URL: options.smtpUrl ?? 'smtp://127.0.0.1:9',
    HERALD_FROM: 'Herald <herald@herald.test>',
    HERALD_SECRET: testSecret,
    ...(options.taskQueue && { HERALD_TASK_QUEUE: options.taskQueue }),
    ...(options.appUrl && { HERALD_APP_URL: options.appUrl }),
    ...options.variables,
  });
  const temporal = options.temporal ?? createTemporalClient(Connection.lazy({ address: '127.0.0.1:9' }));
  const logStream = options.logStream ?? { write: (line: string) => void serverLog.push(line) };
  const server = await runServer({ config, temporal, db: options.db, listen: { host: '127.0.0.1', port }, signInLimits: options.signInLimits, logStream, clock: options.clock });
  afterAll(server.stop);
  if (!logChecked && !options.logStream) {
    logChecked = true;
    afterAll(() => expectNoSecretIn(serverLog));
  }
  return server;
}

/** Every line the servers of this test file logged (those not given a `logStream` of their own). */
const serverLog: string[] = [];
let logChecked = false;

/**
 * What would let a reader in, as it looks in text: API tokens (`hrld_…`), the 43-character tokens
 * of sign-in links and session ids, signed unsubscribe tokens, cookies and the headers that carry
 * them, and the test secret. Request ids (UUIDs) and route patterns are none of these.
 */
const secretShapes = [/hrld_[\w-]{20,}/, /[A-Za-z0-9_-]{40,}/, /herald_session=/, /"(authorization|cookie|set-cookie)"/i, new RegExp(testSecret)];

/** Checked when a file that started a server ends: no line of its servers' log holds a secret. */
function expectNoSecretIn(lines: string[]): void {
  const leaks = lines.filter((line) => secretShapes.some((shape) => shape.test(line)));
  expect(leaks, 'log lines that hold a token, a cookie, a link or the secret').toEqual([]);
  // The log is the server's: a file that made requests has request lines to check.
  if (lines.length > 0) expect(lines.some((line) => line.includes('"requestId"'))).toBe(true);
}
