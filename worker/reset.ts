/**
 * `npm run reset`: removes every piece of local state that `npm start` created (its data folder,
 * HERALD_DATA_DIR, with the Temporal history and the caught mail, and the embedded PostgreSQL's
 * data wherever it lives), so that the next `npm start` begins from nothing. Refuses while
 * Herald is running.
 */
import { existsSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError, loadConfig } from '../config/config.js';
import { localStateFolders, portInUse } from '../embedded/local-state.js';

async function main(): Promise<number> {
  const folders = localStateFolders(loadConfig().dataDir);
  const busy = await portInUse(['postgres', 'temporal', 'smtp']);
  if (busy) {
    console.error(`herald: 127.0.0.1:${busy.port} (${busy.service}) is in use: stop Herald first (Ctrl-C in its terminal), then reset.`);
    return 1;
  }
  // PostgreSQL's folder lives under the data folder, or in a folder of its own under /var/tmp.
  const targets = [folders.data, ...(folders.postgres.startsWith(`${folders.data}/`) ? [] : [dirname(folders.postgres)])];
  const removed = targets.filter((target) => existsSync(target));
  for (const target of removed) rmSync(target, { recursive: true, force: true });
  console.log(removed.length ? `removed: ${removed.join(', ')}` : 'nothing to remove: no local state');
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`herald: ${error instanceof ConfigError ? error.message : String(error)}`);
    process.exit(error instanceof ConfigError ? 2 : 1);
  },
);
