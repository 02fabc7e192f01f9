/**
 * The worker's log is Herald's logger: the Temporal runtime installed as the worker processes
 * install it (worker/runtime.ts) writes the SDK's, the workflows' and the activities' lines as
 * JSON lines of the `herald-worker` service, each with the workflow id and run id it is about.
 */
import { describe, expect, it } from 'vitest';
import { installWorkerRuntime } from '../worker/runtime.js';
import { heraldLogger } from '../observability/log.js';
import { startFixture } from './helpers/fixture.js';

describe("the worker's log", async () => {
  const lines: string[] = [];
  // Installed before anything of Temporal's exists in this process, as worker/main.ts does.
  installWorkerRuntime({ config: { logLevel: 'debug', metricsListen: undefined }, logger: heraldLogger('herald-worker', 'debug', { write: (line: string) => void lines.push(line) }) });
  const { herald } = await startFixture();

  it("writes workflow and activity lines as Herald's, with the workflow id and run id", async () => {
    const receipt = await herald.client.reportErrors({ environment: 'prod', flow: 'orders', reportId: 'logged-report', errors: [{ traceKey: 'SO-L1', message: 'Logged' }] });
    expect(receipt.stored).toBe(1);
    const records = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const about = (record: Record<string, unknown>) => typeof record.workflowId === 'string' && String(record.workflowId).includes('logged-report');
    // The report's workflow and activity lines, once both are written (the logger writes as they come).
    await expect.poll(() => records().filter(about).some((record) => record.activityType === 'storeErrorReport'), { timeout: 10_000 }).toBe(true);
    const workflowLines = records().filter(about);
    // The workflow's lines name its run; its activities' name the run they work for.
    expect(workflowLines.every((record) => record.service === 'herald-worker' && typeof (record.runId ?? record.workflowRunId) === 'string' && typeof record.msg === 'string')).toBe(true);
    expect(workflowLines).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ workflowType: 'errorReport', runId: expect.any(String), msg: 'Workflow started' }),
        expect.objectContaining({ activityType: 'storeErrorReport', workflowRunId: expect.any(String) }),
      ]),
    );
  });
});
