#!/usr/bin/env node
// `npm run check:alerts`: promtool checks Herald's alerting rules and runs their unit tests
// (deploy/prometheus). promtool comes from PROMTOOL, .tools/bin (scripts/fetch-promtool.sh) or the PATH.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const local = `${root}.tools/bin/promtool`;
const promtool = process.env.PROMTOOL || (existsSync(local) ? local : 'promtool');
const run = (...args) => {
  const result = spawnSync(promtool, args, { cwd: `${root}deploy/prometheus`, stdio: 'inherit' });
  if (result.error) {
    console.error(`check:alerts: promtool not found (${result.error.message}): run scripts/fetch-promtool.sh, install Debian's prometheus package, or set PROMTOOL`);
    process.exit(1);
  }
  if (result.status !== 0) process.exit(result.status ?? 1);
};
run('check', 'rules', 'herald-alerts.yml');
run('test', 'rules', 'herald-alerts.test.yml');
