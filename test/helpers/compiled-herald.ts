/**
 * Herald compiled to JavaScript as `npm run build` compiles it (each source file to one module, the
 * email templates and pages beside them), for tests that start Herald's processes many times: the
 * command line, the production worker. A process of the compiled code starts in about half the
 * time of one through tsx, which transforms every module it loads. The types are the typecheck's
 * business (CI runs it); this compiles with esbuild, as tsx does, and is kept in test-artifacts/
 * under a hash of the sources, so each test file and the next run find it made.
 */
import { buildSync } from 'esbuild';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Every folder of Herald's own code (what the build compiles: its folders and all they import),
 * and what the build copies as it is.
 */
const notHeralds = new Set(['node_modules', 'test', 'test-artifacts', 'scratch', 'dist', 'bench', 'scripts', 'docs', 'examples', 'deploy']);
const sourceFolders = readdirSync(root, { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.') && !notHeralds.has(entry.name))
  .map((entry) => entry.name);
const copiedFolders = ['email/templates', 'server/pages'];

let made: string | undefined;

/** The folder of the compiled Herald: `<folder>/cli/main.js` is the command line, `<folder>/worker/main.js` the worker. */
export function compiledHerald(): string {
  if (made) return made;
  const files = sourceFolders.flatMap((folder) =>
    readdirSync(join(root, folder), { recursive: true, encoding: 'utf8' })
      .sort()
      .map((file) => join(folder, file)),
  );
  const hash = createHash('sha256');
  for (const file of files) if (statSync(join(root, file)).isFile()) hash.update(file).update(readFileSync(join(root, file)));
  const parent = join(root, 'test-artifacts', 'compiled');
  const folder = join(parent, hash.digest('hex').slice(0, 24));
  if (!existsSync(folder)) {
    // Made whole beside it, then renamed: a test file compiling at the same time finds one or none.
    const partial = `${folder}.${process.pid}`;
    const sources = files.filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts') && !copiedFolders.some((copied) => file.startsWith(copied)));
    buildSync({ entryPoints: sources.map((file) => join(root, file)), outdir: partial, outbase: root, format: 'esm', platform: 'node', target: 'node20', logLevel: 'warning' });
    for (const copied of copiedFolders) cpSync(join(root, copied), join(partial, copied), { recursive: true });
    mkdirSync(parent, { recursive: true });
    try {
      renameSync(partial, folder);
    } catch (error) {
      // Another file made the same one first.
      rmSync(partial, { recursive: true, force: true });
      if (!existsSync(folder)) throw error;
    }
    // Compilations of sources that have changed since are not read again: those a day old go.
    for (const other of readdirSync(parent)) {
      const path = join(parent, other);
      if (Date.now() - statSync(path).mtimeMs > 86_400_000) rmSync(path, { recursive: true, force: true });
    }
  }
  made = folder;
  return folder;
}
