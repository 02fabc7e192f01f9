import type { Duration } from '@temporalio/common';
import { Worker, type NativeConnection, type WorkflowBundleOption } from '@temporalio/worker';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createActivities, type ActivityDeps } from '../activities/index.js';
import { ensureSearchAttributes } from './search-attributes.js';
import { heraldDataConverter } from '../client/payload-codec.js';

/** Path of the workflows' barrel, for bundling: the .ts from source, the .js in the build. */
export const workflowsPath = ['../workflows/index.ts', '../workflows/index.js']
  .map((candidate) => fileURLToPath(new URL(candidate, import.meta.url)))
  .find((path) => existsSync(path))!;

export interface HeraldWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  deps: ActivityDeps;
  /** A prebuilt bundle (production, tests); without it the worker bundles the workflows at start. */
  workflowBundle?: WorkflowBundleOption;
  /** How long activities may finish after a shutdown request before they are cancelled. */
  shutdownGraceTime?: Duration;
  maxConcurrentActivityTaskExecutions?: number;
}

/**
 * A worker that runs every Herald workflow and activity on one task queue. It first registers
 * Herald's search attributes where the namespace lacks them: without them every run would be stuck.
 */
export async function createHeraldWorker(options: HeraldWorkerOptions): Promise<Worker> {
  await ensureSearchAttributes(options.connection, options.namespace);
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    dataConverter: heraldDataConverter,
    activities: createActivities(options.deps),
    ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath }),
    shutdownGraceTime: options.shutdownGraceTime ?? '10 seconds',
    ...(options.maxConcurrentActivityTaskExecutions && {
      maxConcurrentActivityTaskExecutions: options.maxConcurrentActivityTaskExecutions,
    }),
  });
}
