import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** How the Temporal SDK should obtain a server binary: a given file, or its own download. */
export type ServerExecutable = { type: 'existing-path'; path: string } | { type: 'cached-download' };

/** The project folder (the one with package.json), whether running from source or from dist/. */
export const projectRoot: string = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
})();

/** The time-skipping test server: `TEMPORAL_TEST_SERVER_PATH`, else `.tools/bin`, else the SDK's download. */
export function testServerExecutable(env = process.env): ServerExecutable {
  return locate('TEMPORAL_TEST_SERVER_PATH', 'temporal-test-server', env);
}

/** The Temporal CLI (dev server and web UI): `TEMPORAL_CLI_PATH`, else `.tools/bin`, else the SDK's download. */
export function cliExecutable(env = process.env): ServerExecutable {
  return locate('TEMPORAL_CLI_PATH', 'temporal', env);
}

function locate(variable: string, file: string, env: NodeJS.ProcessEnv): ServerExecutable {
  const given = env[variable];
  if (given) {
    if (!existsSync(given)) throw new Error(`${variable}=${given}: no such file`);
    return { type: 'existing-path', path: given };
  }
  const local = join(projectRoot, '.tools', 'bin', file);
  return existsSync(local) ? { type: 'existing-path', path: local } : { type: 'cached-download' };
}
