/**
 * What tests make once and keep in test-artifacts/ (a workflow bundle, Herald compiled): under a
 * hash of everything it is made of, so each test file and the next run find it made. Made whole
 * beside its place, then renamed: a test file making the same one at the same time finds one or
 * none, never half of one. Those of sources that have changed since are never read again: a day
 * after they were made, they go.
 */
import { createHash, type Hash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const projectRoot = fileURLToPath(new URL('../../', import.meta.url));

/** A hash of `inputs` (strings) and of every file of `folders` (relative to the project), path and content. */
export function hashOf(folders: string[], inputs: string[] = []): string {
  const hash: Hash = createHash('sha256');
  for (const input of inputs) hash.update(input);
  for (const folder of folders) {
    for (const file of readdirSync(join(projectRoot, folder), { recursive: true, encoding: 'utf8' }).sort()) {
      const path = join(projectRoot, folder, file);
      if (statSync(path).isFile()) hash.update(join(folder, file)).update(readFileSync(path));
    }
  }
  return hash.digest('hex').slice(0, 24);
}

/** Where the artifact of `kind` (a folder of test-artifacts/, made if missing) named `name` (its hash, and any suffix) is kept. */
export function keptArtifactPath(kind: string, name: string): string {
  const folder = join(projectRoot, 'test-artifacts', kind);
  mkdirSync(folder, { recursive: true });
  return join(folder, name);
}

/**
 * Puts `partial` (a file or folder made at `${path}.<pid>`) in its place, unless another test file
 * has put the same one there first; then removes the day-old ones beside it.
 */
export function keepArtifact(partial: string, path: string): void {
  const parent = join(path, '..');
  try {
    renameSync(partial, path);
  } catch (error) {
    rmSync(partial, { recursive: true, force: true });
    if (!existsSync(path)) throw error;
  }
  for (const other of readdirSync(parent)) {
    const old = join(parent, other);
    const made = statSync(old, { throwIfNoEntry: false });
    if (made && Date.now() - made.mtimeMs > 86_400_000) rmSync(old, { recursive: true, force: true });
  }
}
