/**
 * The client is thin: what a flow imports (client/index.ts) reaches the Temporal SDK, zod and
 * Herald's contracts and workflow definitions, and nothing of the database, the mail or the
 * server. Bundling the entry with every package left external lists exactly the modules it loads
 * (type-only imports are gone, as they are at run time).
 */
import { describe, expect, it } from 'vitest';
import { build } from 'esbuild';

async function closureOf(entry: string): Promise<{ files: string[]; packages: string[] }> {
  const { metafile } = await build({ entryPoints: [entry], bundle: true, write: false, metafile: true, platform: 'node', format: 'esm', packages: 'external', logLevel: 'silent' });
  const packages = new Set<string>();
  for (const input of Object.values(metafile.inputs)) {
    for (const imported of input.imports) if (imported.external) packages.add(imported.path);
  }
  return { files: Object.keys(metafile.inputs).sort(), packages: [...packages].sort() };
}

describe('the client a flow imports', () => {
  it("loads the Temporal SDK (with its trace propagation's client side and the OpenTelemetry API), zod and Node built-ins only, and of Herald only client/, contracts/ and workflows/", async () => {
    const { files, packages } = await closureOf('client/index.ts');
    expect(files.filter((file) => !/^(client|contracts|workflows)\//.test(file))).toEqual([]);
    expect(packages.filter((name) => !/^(@temporalio\/(client|common|proto|workflow|interceptors-opentelemetry\/lib\/client\/index\.js)|@opentelemetry\/api|zod|node:.*)$/.test(name))).toEqual([]);
    // It does reach what it is for: the client, the contracts, the codec.
    expect(files).toEqual(expect.arrayContaining(['client/herald-client.ts', 'client/payload-codec.ts', 'contracts/error-report.ts']));
  });

  it('would be caught pulling in the database: the closure of the command line names knex, pg and the stores', async () => {
    const { files, packages } = await closureOf('cli/main.ts');
    expect(packages).toEqual(expect.arrayContaining(['knex', 'pg']));
    expect(files).toContain('stores/error-store.ts');
  });
});
