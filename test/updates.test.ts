import { describe, expect, it } from 'vitest';
import { NativeConnection, Worker, bundleWorkflowCode } from '@temporalio/worker';
import { createRequire } from 'node:module';
import { createDevServer } from './helpers/temporal.js';
import { echoUpdate, healSignal, healsOnSignal } from './fixtures/update-workflows.js';
import { updateNotTaken, updateUntilTaken } from '../client/updates.js';

const require = createRequire(import.meta.url);
const quiet = { info() {}, warn() {}, error() {}, debug() {}, trace() {}, log() {} };

// On the dev server, which gives an update back when the workflow task carrying it fails (the
// time-skipping server does not). Herald's digest met it under load: an interval change came
// in while a run closed with an earlier timer firing, the server failed that task, and the
// operator's command failed though nothing was wrong.
describe('an update Temporal gives back untaken', async () => {
  const temporal = await createDevServer();
  const connection = await NativeConnection.connect({ address: temporal.address });
  const workflowBundle = await bundleWorkflowCode({ workflowsPath: require.resolve('./fixtures/update-workflows.ts'), logger: quiet });
  const worker = await Worker.create({ connection, taskQueue: 'updates', workflowBundle });
  const running = worker.run();

  const failedTasks = async (workflowId: string) =>
    ((await temporal.client.workflow.getHandle(workflowId).fetchHistory()).events ?? []).filter((event) => event.workflowTaskFailedEventAttributes).length;

  it('is an error as sent once, and taken when sent again after the task that failed', async () => {
    const handle = await temporal.client.workflow.start(healsOnSignal, { taskQueue: 'updates', workflowId: 'given-back' });
    const once = await handle.executeUpdate(echoUpdate, { args: ['once'] }).catch((error: unknown) => error);
    expect(updateNotTaken(once)).toBe(true);

    const again = updateUntilTaken(() => handle.executeUpdate(echoUpdate, { args: ['again'] }), { firstWaitMs: 200 });
    const failedBefore = await failedTasks('given-back');
    await expect.poll(() => failedTasks('given-back'), { timeout: 60_000 }).toBeGreaterThan(failedBefore);
    await handle.signal(healSignal);
    expect(await again).toBe('again');
    await handle.terminate('test over');
  }, 120_000);

  it('other errors are thrown at once, not sent again', async () => {
    let sends = 0;
    const refused = updateUntilTaken(async () => {
      sends += 1;
      return temporal.client.workflow.getHandle('no-such-workflow').executeUpdate(echoUpdate, { args: ['x'] });
    });
    await expect(refused).rejects.toThrow(/not found/i);
    expect(sends).toBe(1);
    worker.shutdown();
    await running;
    await connection.close();
  });
});
