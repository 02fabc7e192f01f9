/**
 * The anchor's worker, in a process of its own so that its memory is measured apart (the
 * environments part of the bench): a bare SDK worker running the timer loops of
 * floor-workflow.ts, caching as many of them as it is told. Started by bench/environments.ts with
 * TEMPORAL_ADDRESS, ANCHOR_TASK_QUEUE and ANCHOR_CACHE; says `"msg":"worker running"` once it
 * polls, as Herald's worker does; SIGTERM drains it.
 */
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { fileURLToPath } from 'node:url';

Runtime.install({ logger: new DefaultLogger('ERROR') });
const connection = await NativeConnection.connect({ address: process.env.TEMPORAL_ADDRESS! });
const worker = await Worker.create({
  connection,
  taskQueue: process.env.ANCHOR_TASK_QUEUE!,
  workflowBundle: await bundleWorkflowCode({ workflowsPath: fileURLToPath(new URL('./floor-workflow.ts', import.meta.url)), logger: new DefaultLogger('ERROR') }),
  maxCachedWorkflows: Number(process.env.ANCHOR_CACHE),
});
process.once('SIGTERM', () => worker.shutdown());
const running = worker.run();
console.log(JSON.stringify({ msg: 'worker running' }));
await running;
await connection.close();
