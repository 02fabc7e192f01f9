/**
 * The production server (`npm run build`, then `npm run server`): the HTTP API, health,
 * readiness and the codec endpoint. Stateless: run as many as needed behind a load balancer.
 * Everything comes from the environment: DATABASE_URL is required, Temporal through the SDK's
 * environment configuration, HERALD_LISTEN (default 127.0.0.1:8080) and HERALD_CODEC_ORIGINS.
 * SIGINT or SIGTERM stops it after the requests in progress.
 */
import { Connection } from '@temporalio/client';
import { ConfigError, loadConfig } from '../config/config.js';
import { connectDatabase } from '../stores/database.js';
import { createTemporalClient } from '../client/payload-codec.js';
import { HeraldClient } from '../client/herald-client.js';
import { temporalTarget } from '../client/temporal-connection.js';
import { buildServer } from './app.js';

async function main(): Promise<void> {
  const config = loadConfig();
  if (!config.databaseUrl) throw new ConfigError('DATABASE_URL', '', 'required by the server (postgres://…)');
  const target = temporalTarget('127.0.0.1:7233');
  const connection = await Connection.connect(target.connectionOptions);
  const db = connectDatabase(config.databaseUrl);
  const client = new HeraldClient({ temporal: createTemporalClient(connection, target.namespace), taskQueue: config.taskQueue, db });
  const server = await buildServer({ db, api: { client, requestsPerMinute: config.apiRequestsPerMinute }, codecOrigins: config.codecOrigins });
  const address = await server.listen(config.listen);
  console.log(`herald: server ${process.pid} at ${address} (API /api/v1), Temporal ${target.connectionOptions.address}/${target.namespace}`);
  const stop = async () => {
    await server.close();
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
