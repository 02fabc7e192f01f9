import { afterAll } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const folders: string[] = [];
// Registered when a test file imports this helper: every folder it made is removed when the file ends.
afterAll(() => Promise.all(folders.splice(0).map((dir) => rm(dir, { recursive: true, force: true }))));

/** A new folder in the temp folder, removed when the test file ends (also when made inside a test). */
export async function tempFolder(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `herald-${prefix}-`));
  folders.push(dir);
  return dir;
}
