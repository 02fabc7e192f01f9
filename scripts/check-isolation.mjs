#!/usr/bin/env node
// `npm run check:isolation -- FILE…`: runs each test of each file alone, filtered by its name
// (`vitest run FILE -t NAME`), as a developer reruns one failure. A test that leans on another's
// set-up (a user, a flow, a state another test made) fails here, named; exits 1 then.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { register } from 'tsx/esm/api';

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: npm run check:isolation -- test/FILE.test.ts [more files]');
  process.exit(2);
}
// Plain text: with CI set, vitest colours its output unless NO_COLOR says otherwise.
const environment = { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' };
// One PostgreSQL server for every run, as one serves every file of `npm test` (each test file makes a
// database of its own on it): a run's world is still its own, without a server started for each.
let database;
if (!environment.TEST_DATABASE_URL) {
  register();
  const { startEmbeddedPostgres } = await import('../embedded/embedded-postgres.ts');
  const { freePort } = await import('../test/helpers/ports.ts');
  const dataDir = mkdtempSync(join(tmpdir(), 'herald-isolation-pg-'));
  database = await startEmbeddedPostgres({ dataDir, port: await freePort(), persistent: false });
  environment.TEST_DATABASE_URL = database.adminUrl;
  process.on('exit', () => rmSync(dataDir, { recursive: true, force: true }));
}
/** One vitest command in the background: its exit status and output when it ends. */
const vitest = (args) =>
  new Promise((resolve) => {
    const child = spawn('npx', ['vitest', ...args], { env: environment, stdio: ['ignore', 'pipe', 'pipe'] });
    let [stdout, stderr] = ['', ''];
    child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
// Three runs at once on two cores: most of a run is waiting for its servers to start.
const concurrency = Number(process.env.ISOLATION_CONCURRENCY ?? 3);
const plain = (text) => stripVTControlCharacters(text);
const regexpOf = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const failures = [];
let ran = 0;
for (const file of files) {
  const listed = await vitest(['list', file, '--json']);
  if (listed.status !== 0) {
    failures.push(`${file}: its tests could not be listed:\n${listed.stdout}${listed.stderr}`);
    continue;
  }
  const names = JSON.parse(listed.stdout.slice(listed.stdout.indexOf('['))).map((test) => test.name.split(' > ').at(-1));
  if (names.length === 0) {
    failures.push(`${file}: no tests found (a path that names no test file?)`);
    continue;
  }
  console.log(`isolation: ${file}: ${names.length} tests, each alone`);
  const queue = [...names];
  const runOne = async () => {
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
      const started = Date.now();
      // Vitest matches the pattern against the test's full name (its describe blocks, then its own name).
      const stdout = plain((await vitest(['run', file, '-t', `${regexpOf(name)}$`])).stdout);
      const passed = /Tests\s+1 passed/.test(stdout);
      ran += 1;
      console.log(`  ${passed ? 'ok  ' : 'FAIL'} ${name} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
      if (!passed) failures.push(`${file} > ${name}: fails alone:\n${stdout.split('\n').filter((line) => /FAIL|Error|expected|received/i.test(line)).slice(0, 12).join('\n')}`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, runOne));
}
await database?.stop();
if (failures.length > 0) {
  console.error(`\nisolation: ${failures.length} problem(s) in ${ran} tests run alone:\n\n${failures.join('\n\n')}`);
  process.exit(1);
}
console.log(`isolation: ${ran} passed, 0 failed`);
