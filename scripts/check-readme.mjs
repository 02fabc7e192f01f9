// Runs every command of the shell blocks of the README and of the documents it links (docs/*.md)
// as written, on this checkout (CI runs it on a
// fresh clone, after `npm ci` and `npm test`): `npm start` and `npm run start:demo` are started,
// checked and stopped with Ctrl-C (SIGINT); the other commands run against the demo; `npm run
// reset` ends it. Exits 1, naming the command, when one fails. Local state goes to a folder of
// its own (HERALD_DATA_DIR), so a developer's .herald/ is left alone.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const readme = readFileSync(join(root, 'README.md'), 'utf8');
/** The README, then each document of docs/ it links, once, in the order it links them. */
const documents = [readme, ...new Set([...readme.matchAll(/\]\((docs\/[\w-]+\.md)(?:#[\w-]*)?\)/g)].map((m) => m[1]))].map((path) =>
  path === readme ? readme : readFileSync(join(root, path), 'utf8'),
);

/** The commands of the documents' ```sh blocks: continued lines joined, comments dropped. */
function readmeCommands() {
  const commands = [];
  for (const [, block] of documents.join('\n').matchAll(/```sh\n([\s\S]*?)```/g)) {
    let pending = '';
    for (const line of block.split('\n')) {
      const code = line.replace(/\s{2,}#.*$/, '').replace(/^\s*#.*$/, '');
      if (code.trim() === '') continue;
      if (code.trimEnd().endsWith('\\')) pending += `${code.trimEnd().slice(0, -1).trim()} `;
      else {
        commands.push(`${pending}${code.trim()}`);
        pending = '';
      }
    }
  }
  return commands;
}

const dataDir = mkdtempSync(join(tmpdir(), 'herald-readme-'));
const env = { ...process.env, HERALD_DATA_DIR: dataDir, FORCE_COLOR: '0' };
const failures = [];
const say = (text) => console.log(`readme: ${text}`);

/** Starts a long-running command, waits until Herald says it runs, then stops it or hands it back. */
async function startHerald(command) {
  const child = spawn('bash', ['-c', `exec ${command}`], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = await new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), 120_000);
    const check = () => output.includes('Herald is running.') && (clearTimeout(timer), resolve(true));
    child.stdout.on('data', check);
    exited.then(() => (clearTimeout(timer), resolve(false)));
  });
  if (!ready) failures.push(`${command}: did not come up:\n${output}`);
  return {
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) {
        // It ended by itself while the other commands ran: say so, with what it said last.
        failures.push(`${command}: exited by itself (${child.exitCode ?? child.signalCode}) before Ctrl-C:\n${output.slice(-4000)}`);
        return false;
      }
      process.kill(-child.pid, 'SIGINT'); // the terminal's Ctrl-C: to the whole process group
      let timer;
      const code = await Promise.race([exited, new Promise((resolve) => (timer = setTimeout(() => resolve('timeout'), 60_000)))]);
      clearTimeout(timer);
      if (output.includes('Herald stopped.')) return true;
      failures.push(`${command}: did not stop cleanly on Ctrl-C (exit ${code}):\n${output.slice(-2000)}`);
      return false;
    },
  };
}

/** Seconds since `started`, for the log: where CI's minutes go. */
const seconds = (started) => `${((Date.now() - started) / 1000).toFixed(0)} s`;

function run(command) {
  const started = Date.now();
  const result = spawnSync('bash', ['-c', command], { cwd: root, env, encoding: 'utf8', timeout: 240_000 });
  if (result.status !== 0) failures.push(`${command}: exit ${result.status ?? result.signal}\n${result.stdout}${result.stderr}`);
  else say(`ok: ${command} (${seconds(started)})`);
}

const commands = readmeCommands();
const skipped = {
  'npm install': 'CI has just installed (npm ci)',
  'npm test': 'CI has just run it',
  'npm run cluster': 'builds the Temporal server (minutes) and runs until stopped: not part of CI',
  'npm run bench -- --temporal 127.0.0.1:7233': 'needs npm run cluster; the bench is not part of CI',
};
try {
  for (const command of commands.filter((c) => c === 'npm start')) {
    const started = Date.now();
    const herald = await startHerald(command);
    if (await herald.stop()) say(`ok: ${command} (up, then Ctrl-C; ${seconds(started)})`);
  }
  const demoStarted = Date.now();
  const demo = await startHerald('npm run start:demo');
  say(`up: npm run start:demo (${seconds(demoStarted)})`);
  for (const command of commands) {
    if (command in skipped) say(`skipped: ${command} (${skipped[command]})`);
    else if (command.includes('…')) say(`skipped: ${command} (placeholders: the production-workers test runs the built worker and server)`);
    else if (command === 'npm start' || command === 'npm run start:demo' || command === 'npm run reset') continue;
    else if (command.startsWith('npm ci && ')) run(command.slice('npm ci && '.length));
    else run(command);
  }
  if (await demo.stop()) say('ok: npm run start:demo (up, commands against it, then Ctrl-C)');
  run('npm run reset');
} finally {
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(join(root, 'next-digest.html'), { force: true });
  rmSync(join(root, 'next-digest.txt'), { force: true });
}

if (failures.length > 0) {
  console.error(`readme: ${failures.length} command(s) of the README failed:\n\n${failures.join('\n\n')}`);
  process.exit(1);
}
say(`all ${commands.length} commands of the README ran as written`);
process.exit(0);
