/**
 * The production server (`npm run build`, then `npm run server`): the HTTP API, health,
 * readiness and the codec endpoint. Stateless: run as many as needed behind a load balancer.
 * Everything comes from the environment: DATABASE_URL, SMTP_URL (sign-in emails) and HERALD_SECRET
 * (session cookies) are required; Temporal through the SDK's environment configuration;
 * HERALD_LISTEN (default 127.0.0.1:8080), HERALD_APP_URL, HERALD_CODEC_ORIGINS, HERALD_TRUST_PROXY.
 * SIGINT or SIGTERM stops it after the requests in progress.
 */
import { Connection } from '@temporalio/client';
import { ConfigError, loadConfig } from '../config/config.js';
import { connectDatabase } from '../stores/database.js';
import { createTemporalClient } from '../client/payload-codec.js';
import { HeraldClient } from '../client/herald-client.js';
import { temporalTarget } from '../client/temporal-connection.js';
import { buildServer } from './app.js';
import { createSmtpMailer } from '../email/mailer.js';

async function main(): Promise<void> {
  const config = loadConfig();
  if (!config.databaseUrl) throw new ConfigError('DATABASE_URL', '', 'required by the server (postgres://…)');
  if (!config.smtpUrl) throw new ConfigError('SMTP_URL', '', 'required by the server, which emails sign-in links (smtp://… or smtps://…)');
  if (!config.secret) throw new ConfigError('HERALD_SECRET', '', 'required by the server, to sign its session cookies (at least 32 characters)');
  const target = temporalTarget('127.0.0.1:7233');
  const connection = await Connection.connect(target.connectionOptions);
  const db = connectDatabase(config.databaseUrl);
  const client = new HeraldClient({ temporal: createTemporalClient(connection, target.namespace), taskQueue: config.taskQueue, db });
  const mailer = createSmtpMailer({ smtpUrl: config.smtpUrl, from: config.from });
  const server = await buildServer({
    db,
    api: { client, requestsPerMinute: config.apiRequestsPerMinute },
    people: { mailer, appUrl: config.appUrl, secret: config.secret },
    codecOrigins: config.codecOrigins,
    trustProxy: config.trustProxy,
  });
  const address = await server.listen(config.listen);
  console.log(`herald: server ${process.pid} at ${address} (API /api/v1), Temporal ${target.connectionOptions.address}/${target.namespace}`);
  const stop = async () => {
    await server.close();
    mailer.close();
    await db.destroy();
    await connection.close();
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

main().catch((error: unknown) => {
  console.error(`herald: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(error instanceof ConfigError ? 2 : 1);
});
