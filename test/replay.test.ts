import { tracedWorkerOptions } from '../worker/worker.js';
import { startTracing } from '../observability/tracing.js';
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from '@temporalio/worker';
import { heraldWorkflowBundle } from './helpers/herald.js';
import { installQuietRuntime } from './helpers/quiet-logger.js';
import { heraldDataConverter } from '../client/payload-codec.js';

const folder = fileURLToPath(new URL('./histories/', import.meta.url));
const histories = readdirSync(folder).filter((file) => file.endsWith('.json'));

// Digests and connection workflows run for months: today's code must replay what older code
// recorded. A failure here means running workflows would fail too: guard the change with patched().
describe('recorded histories replay against today\'s workflow code', () => {
  it('has histories of every long-lived workflow to replay', () => {
    expect(histories).toEqual(expect.arrayContaining(['environment-digest.json', 'connection-status.json']));
  });

  for (const file of histories) {
    it(`replays ${file} without non-determinism`, async () => {
      installQuietRuntime();
      const history: unknown = JSON.parse(readFileSync(`${folder}${file}`, 'utf8'));
      // With Herald's codec, as its workers run: large payloads are recorded compressed.
      await Worker.runReplayHistory({ workflowBundle: await heraldWorkflowBundle(), dataConverter: heraldDataConverter, ...(await tracedWorkerOptions(await startTracing('herald-worker'), { bundled: true })) }, history, file.replace(/\.json$/, ''));
    });
  }
});
