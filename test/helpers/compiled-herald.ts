/**
 * Herald compiled to JavaScript as `npm run build` compiles it (each source file to one module, the
 * email templates and pages beside them), for tests that start Herald's processes many times: the
 * command line, the production worker. A process of the compiled code starts in about half the
 * time of one through tsx, which transforms every module it loads. The types are the typecheck's
 * business (CI runs it); this compiles with esbuild, as tsx does, and is kept in test-artifacts/
 * under a hash of the sources (`kept-artifacts.ts`).
 */
import { buildSync } from 'esbuild';
import { cpSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { hashOf, keepArtifact, keptArtifactPath, projectRoot as root } from './kept-artifacts.js';

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
  const folder = keptArtifactPath('compiled', hashOf(sourceFolders));
  if (!existsSync(folder)) {
    const partial = `${folder}.${process.pid}`;
    const sources = sourceFolders
      .flatMap((source) => readdirSync(join(root, source), { recursive: true, encoding: 'utf8' }).map((file) => join(source, file)))
      .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts') && !copiedFolders.some((copied) => file.startsWith(copied)));
    buildSync({ entryPoints: sources.map((file) => join(root, file)), outdir: partial, outbase: root, format: 'esm', platform: 'node', target: 'node20', logLevel: 'warning' });
    for (const copied of copiedFolders) cpSync(join(root, copied), join(partial, copied), { recursive: true });
    keepArtifact(partial, folder);
  }
  made = folder;
  return folder;
}
