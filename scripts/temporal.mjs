// `npm run temporal -- …`: the Temporal CLI that `npm install` put in .tools/bin (or TEMPORAL_CLI_PATH),
// so the README's `temporal` commands run as written without it on the PATH.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const local = fileURLToPath(new URL('../.tools/bin/temporal', import.meta.url));
const cli = process.env.TEMPORAL_CLI_PATH || local;
if (!existsSync(cli)) {
  console.error(`temporal: no Temporal CLI at ${cli}: run "npm install" (it fetches one), or set TEMPORAL_CLI_PATH`);
  process.exit(127);
}
const result = spawnSync(cli, process.argv.slice(2), { stdio: 'inherit' });
process.exit(result.status ?? 1);
