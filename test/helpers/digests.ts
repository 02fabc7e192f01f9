import type { Client } from '@temporalio/client';
import {
  environmentDigest,
  runCycleNowUpdate,
  type CycleSummary,
  type EnvironmentDigestInput,
} from '../../workflows/environment-digest.js';
import { environmentDigestWorkflowId } from '../../workflows/workflow-ids.js';
import type { ReceivedMail } from './mail.js';
import { updateUntilTaken } from '../../client/updates.js';
import type { TestWorkflowEnvironment } from '@temporalio/testing';

/** Starts an environment's digest workflow for a test. */
export async function startDigest(temporal: Client, taskQueue: string, input: EnvironmentDigestInput) {
  return temporal.workflow.start(environmentDigest, {
    workflowId: environmentDigestWorkflowId(input.environment),
    taskQueue,
    args: [input],
  });
}

/**
 * Runs `work` with the time-skipping server's time held: it passes as real time does, and no timer
 * is skipped to while `work` runs.
 */
export async function withTimeHeld<T>(env: TestWorkflowEnvironment, work: () => Promise<T>): Promise<T> {
  await env.connection.testService!.lockTimeSkipping({});
  try {
    return await work();
  } finally {
    await env.connection.testService!.unlockTimeSkipping({});
  }
}

/** Runs a digest cycle of the environment now and returns its summary (sent as `herald digest now` sends it). */
export function runCycleNow(temporal: Client, environment: string): Promise<CycleSummary> {
  return updateUntilTaken(() => temporal.workflow.getHandle(environmentDigestWorkflowId(environment)).executeUpdate(runCycleNowUpdate));
}

/** The summary numbers a digest email shows, read from its HTML. */
export function summaryOf(mail: ReceivedMail): { new: number; resolved: number; open: number } {
  const html = String(mail.parsed.html);
  const number = (name: string) => Number(new RegExp(`data-summary="${name}"[^>]*>(\\d+)<`).exec(html)?.[1] ?? NaN);
  return { new: number('new'), resolved: number('resolved'), open: number('open') };
}

/** The rows of one list (new or resolved) in a digest email, as text. */
export function rowsOf(mail: ReceivedMail, list: 'new' | 'resolved'): string[] {
  const html = String(mail.parsed.html);
  return [...html.matchAll(new RegExp(`<tr data-error="${list}"[^>]*>([\\s\\S]*?)</tr>`, 'g'))].map((m) =>
    m[1]!.replace(/<wbr>/g, '').replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim(),
  );
}
