import { describe, expect, it } from 'vitest';
import { startWorld } from './helpers/fixture.js';
import { HeraldClient } from '../client/index.js';
import { workerProcesses } from './helpers/worker-processes.js';
import { createDevServer } from './helpers/temporal.js';
import { lockErrorsTable } from './helpers/database.js';

// On the Temporal dev server, a real Temporal server: a worker that dies inside a workflow task
// leaves it to the task's timeout (10 s), and the caller waiting on the update is answered by the
// task that follows, as in production.
describe('a worker process killed (SIGKILL) while it stores a report', async () => {
  const server = await createDevServer();
  const { db, url: databaseUrl, mail } = await startWorld();
  const taskQueue = 'herald-report-crash';

  const workers = workerProcesses({ temporalAddress: server.address, databaseUrl, smtpUrl: mail.url, taskQueue });

  it('S1, S5: another worker stores it, once, answers the caller and starts its retry window', async () => {
    const first = await workers.start();
    const temporal = server.client;
    const client = new HeraldClient({ temporal, taskQueue });
    // The store waits behind a lock, inside the first worker's workflow task, when that worker dies.
    const lock = await lockErrorsTable(db);
    const pending = client.reportErrors({
      environment: 'prod',
      flow: 'orders',
      reportId: 'run-killed',
      errors: [
        { traceKey: 'KILL-1', message: 'Gateway timeout', code: '504' },
        { traceKey: 'KILL-2', message: 'Price missing' },
      ],
    });
    await expect.poll(lock.waitingInserts, { timeout: 30_000 }).toBe(1);
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    await workers.start();
    await lock.release();

    // The killed worker's transaction never commits; its workflow task times out and the new worker stores the report.
    const receipt = await pending;
    expect(receipt).toMatchObject({ stored: 2, duplicates: 0, open: 1, retrying: 1, retryWorkflowId: 'retry/prod/orders/run-killed' });
    expect(await db('errors').where({ report_id: 'run-killed' }).orderBy('trace_key').select('trace_key', 'status')).toEqual([
      { trace_key: 'KILL-1', status: 'retrying' },
      { trace_key: 'KILL-2', status: 'open' },
    ]);
    // The receipt is answered as the child's start is recorded; the server starts the child just after.
    const started = () => temporal.workflow.getHandle('retry/prod/orders/run-killed').describe().then((d) => d.status.name, () => 'not started yet');
    await expect.poll(started, { timeout: 30_000 }).toBe('RUNNING');
  }, 90_000);
});
