/**
 * Where `npm start` keeps its state on this machine, and the ports its embedded services use:
 * one place for `npm start`, which creates the state, and `npm run reset`, which removes it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { reachableByOtherUsers } from './embedded-postgres.js';

/** The ports of the embedded services on 127.0.0.1. */
export const embeddedPorts = { temporal: 7233, temporalUi: 8233, postgres: 54329, smtp: 1025, mailWeb: 8025, server: 8080 } as const;

/** Every folder of local state for the data folder (HERALD_DATA_DIR): its own, and PostgreSQL's. */
export function localStateFolders(dataDir: string): { data: string; postgres: string } {
  const data = resolve(dataDir);
  return { data, postgres: postgresDataDir(data) };
}

/**
 * The embedded PostgreSQL's data folder. As root, PostgreSQL runs as the `postgres` user; where
 * that user cannot reach the project's folder, the data goes under /var/tmp, keyed by the project.
 */
function postgresDataDir(dataDir: string): string {
  const inProject = join(dataDir, 'postgres');
  if (userInfo().uid !== 0 || reachableByOtherUsers(inProject)) return inProject;
  const key = createHash('sha256').update(dataDir).digest('hex').slice(0, 12);
  return join('/var/tmp', `herald-${key}`, 'postgres');
}

/** True when something accepts connections on 127.0.0.1:`port`. */
export function listening(port: number): Promise<boolean> {
  return new Promise((answer) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      answer(true);
    });
    socket.once('error', () => answer(false));
  });
}

/** The first embedded service whose port something already listens on, if any. */
export async function portInUse(services: (keyof typeof embeddedPorts)[]): Promise<{ service: keyof typeof embeddedPorts; port: number } | undefined> {
  for (const service of services) {
    const port = embeddedPorts[service];
    if (await listening(port)) return { service, port };
  }
  return undefined;
}

/**
 * The secret `npm start` keeps in its data folder (HERALD_SECRET when none is given), made on the
 * first start; the command line reads it to make the links `npm start`'s emails carry. Undefined
 * when there is none and `make` is not asked.
 */
export function keptSecret(dataDir: string, options: { make: boolean }): string | undefined {
  const file = join(dataDir, 'secret');
  if (!existsSync(file)) {
    if (!options.make) return undefined;
    writeFileSync(file, randomBytes(32).toString('base64url'), { mode: 0o600 });
  }
  return readFileSync(file, 'utf8').trim();
}
