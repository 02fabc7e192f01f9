// `npm run build`: compiles Herald into dist/ and prebuilds the workflow bundles that the
// production worker (dist/worker/main.js) loads (one with the trace interceptors, one without), so no worker bundles workflows at start-up.
// `node scripts/build.mjs --out-dir DIR` builds into DIR instead (inside the project, so that
// the compiled code finds node_modules).
import { spawnSync } from 'node:child_process';
import { cpSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);
const outIndex = process.argv.indexOf('--out-dir');
const dist = outIndex > 0 ? `${resolve(process.argv[outIndex + 1])}/` : `${root}dist/`;

const started = Date.now();
console.log(`building Herald into ${dist} (TypeScript, then the workflow bundles: about 20 s)…`);
rmSync(dist, { recursive: true, force: true });
const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', `${root}tsconfig.build.json`, '--outDir', dist], { stdio: 'inherit' });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);
cpSync(`${root}email/templates`, `${dist}email/templates`, { recursive: true });
cpSync(`${root}server/pages`, `${dist}server/pages`, { recursive: true });

const { bundleWorkflowCode, DefaultLogger } = await import('@temporalio/worker');
// Webpack's statistics are the bundler's business: only its warnings and errors are printed.
const logger = new DefaultLogger('WARN');
const { workflowBundleOptions } = await import(`${dist}worker/worker.js`);
// Two bundles: the workers that trace (OTEL_EXPORTER_OTLP_ENDPOINT) load the one with the trace interceptors.
const { code } = await bundleWorkflowCode({ ...workflowBundleOptions({ traced: false }), logger });
writeFileSync(`${dist}workflow-bundle.js`, code);
const traced = await bundleWorkflowCode({ ...workflowBundleOptions({ traced: true }), logger });
writeFileSync(`${dist}workflow-bundle-traced.js`, traced.code);
console.log(`built ${dist} in ${((Date.now() - started) / 1000).toFixed(0)} s: the compiled code, workflow-bundle.js (${(code.length / 1024).toFixed(0)} KiB) and workflow-bundle-traced.js`);
