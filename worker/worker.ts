import type { Duration } from '@temporalio/common';
import { bundleWorkflowCode, DefaultLogger, Worker, type NativeConnection, type WorkerOptions, type WorkflowBundleOption } from '@temporalio/worker';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Tracing } from '../observability/tracing.js';
import { createActivities, type ActivityDeps } from '../activities/index.js';
import { ensureSearchAttributes } from './search-attributes.js';
import { takeoverSettings } from '../config/takeover.js';
import { heraldDataConverter } from '../client/payload-codec.js';

/** Path of the workflows' barrel, for bundling: the .ts from source, the .js in the build. */
export const workflowsPath = ['../workflows/index.ts', '../workflows/index.js']
  .map((candidate) => fileURLToPath(new URL(candidate, import.meta.url)))
  .find((path) => existsSync(path))!;

/**
 * Workflow interceptors that carry a trace from the caller into the workflow and on to its
 * activities. Only in the bundles of workers that trace: each holds an AsyncLocalStorage per cached
 * workflow, which on Node 20 every async step of the workflow thread walks; with thousands of
 * cached digests an untraced worker must not pay that (`npm run bench -- environments` crashed a
 * worker at 2,000 with them: "async hook stack has become corrupted").
 */
export const workflowInterceptorModules = [createRequire(import.meta.url).resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors')];

/** How Herald's workflows are bundled, wherever they are (a worker at start, the build, the tests, the bench): traced or not. */
export function workflowBundleOptions({ traced }: { traced: boolean }) {
  return { workflowsPath, ...(traced && { workflowInterceptorModules }) };
}

/**
 * What a worker of Herald's workflows needs for their traces, when it traces: the activity
 * interceptors, the sink through which the workflows' spans leave the sandbox, and, when it
 * bundles the workflows itself, the workflow interceptors (a prebuilt bundle has them or not: see
 * {@link workflowBundleFor}). A worker that does not trace runs the bundle without them and needs
 * none of these (nor loads their modules).
 */
export async function tracedWorkerOptions(tracing: Tracing, { bundled }: { bundled: boolean }): Promise<Pick<WorkerOptions, 'interceptors' | 'sinks'>> {
  if (!tracing.enabled) return {};
  const { makeWorkflowExporter, OpenTelemetryActivityInboundInterceptor, OpenTelemetryActivityOutboundInterceptor } = await import('@temporalio/interceptors-opentelemetry');
  return {
    interceptors: {
      activity: [(context) => ({ inbound: new OpenTelemetryActivityInboundInterceptor(context), outbound: new OpenTelemetryActivityOutboundInterceptor(context) })],
      ...(!bundled && { workflowModules: workflowInterceptorModules }),
    },
    sinks: { exporter: makeWorkflowExporter(tracing.processor, tracing.resource) },
  };
}

/** The prebuilt bundle beside `dir` (`npm run build` writes both): with the workflow interceptors when the worker traces. */
export function workflowBundleFor(dir: string, tracing: Tracing): string {
  return `${dir}/${tracing.enabled ? 'workflow-bundle-traced.js' : 'workflow-bundle.js'}`;
}

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
  /** HERALD_CACHED_WORKFLOWS: runs kept in memory between their tasks; an evicted run is replayed from its history at its next task. */
  maxCachedWorkflows?: number;
  /** Where workflow and activity spans go (observability/tracing.ts); off: nowhere. */
  tracing: Tracing;
}

/**
 * A worker that runs every Herald workflow and activity on one task queue. It first registers
 * Herald's search attributes where the namespace lacks them: without them every run would be stuck.
 */
export async function createHeraldWorker(options: HeraldWorkerOptions): Promise<Worker> {
  await ensureSearchAttributes(options.connection, options.namespace);
  // Bundled here rather than by Worker.create, whose bundler logs webpack's statistics at info
  // into the worker's log (and `npm start`'s banner): here only its warnings and errors show.
  const workflowBundle =
    options.workflowBundle ??
    (await bundleWorkflowCode({ ...workflowBundleOptions({ traced: options.tracing.enabled }), logger: new DefaultLogger('WARN') }));
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    dataConverter: heraldDataConverter,
    activities: createActivities(options.deps),
    workflowBundle,
    ...(await tracedWorkerOptions(options.tracing, { bundled: true })),
    shutdownGraceTime: options.shutdownGraceTime ?? '10 seconds',
    // A sending attempt's heartbeats reach the server every 2 s (not every 80 % of its timeout,
    // 16 s): a paused worker's attempt times out no sooner than 18 s after the pause, when the
    // polls it left open have expired (takeoverSettings), so its retry goes to a live worker.
    maxHeartbeatThrottleInterval: takeoverSettings.heartbeatThrottle,
    ...(options.maxCachedWorkflows !== undefined && { maxCachedWorkflows: options.maxCachedWorkflows }),
    ...(options.maxConcurrentActivityTaskExecutions && {
      maxConcurrentActivityTaskExecutions: options.maxConcurrentActivityTaskExecutions,
    }),
  });
}
