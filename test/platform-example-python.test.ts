/**
 * The Python example of a platform keeping Herald in step (S40), run as written with the
 * machine's python3 (standard library only) against a real server on the demo catalog.
 */
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { startFixture } from './helpers/fixture.js';
import { startServer } from './helpers/server.js';
import { demoCatalogFile, readCatalogFile } from '../catalog/catalog-file.js';
import type { Catalog } from '../catalog/catalog.js';
import { createTokenStore } from '../stores/token-store.js';

const run = promisify(execFile);
const readme = readFileSync(new URL('../docs/http-api.md', import.meta.url), 'utf8');

/** The Python block that follows the `<!-- platform-example -->` marker. */
function platformExample(): string {
  const block = /<!-- platform-example -->\s*```python\n([\s\S]*?)```/.exec(readme);
  if (!block) throw new Error('docs/http-api.md has no platform example');
  return block[1]!;
}

describe("the HTTP API document's platform example, in Python", async () => {
  const { db, herald } = await startFixture({ catalog: (await readCatalogFile(demoCatalogFile)) as Catalog });
  const server = await startServer({ db, temporal: herald.temporal, taskQueue: herald.taskQueue });
  const { token } = await createTokenStore(db).create('acme', 'platform', ['read', 'manage']);

  it('S40: puts a user, sets their subscriptions, changes their role with If-Match, and removes them', async () => {
    const script = platformExample();
    const child = run('python3', ['-c', script], { env: { ...process.env, HERALD_URL: server.url, HERALD_TOKEN: token } });
    const { stdout } = await child;
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toBe('201');
    expect(lines[1]).toContain("'flows': ['orders-to-erp']");
    expect(lines[2]).toContain("'role': 'manage'");
    expect(lines[3]).toContain("'removed': True");
    expect(await db('users').where({ account_id: 'acme', email: 'dana@acme.example' }).first('role', 'removed_at')).toMatchObject({ role: 'manage', removed_at: expect.any(Date) });
    const audit = await db('audit_events').where({ account_id: 'acme' }).orderBy('id').pluck('action');
    expect(audit).toEqual(['created', 'changed', 'changed', 'removed']);
  });
});
