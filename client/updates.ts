/**
 * Sending a workflow update until Temporal takes it. An update travels in a workflow task; when
 * that task fails, Temporal hands the update back untaken (FAILED_PRECONDITION, "workflow not
 * ready"): the worker stopped or stalled, or — in a long-lived workflow that continues as new —
 * an event came in while the task was closing the run, and the server failed the task to let the
 * workflow see it first. The update never reached the workflow's state, so sending it again is
 * safe, and Temporal leaves doing so to its callers.
 */
import { ServiceError } from '@temporalio/client';

/** gRPC's FAILED_PRECONDITION, the status of an update given back untaken. */
const failedPrecondition = 9;

/** Whether Temporal gave the update back without taking it, so that it may be sent again. */
export function updateNotTaken(error: unknown): boolean {
  const cause = error instanceof ServiceError ? error.cause : undefined;
  return (cause as { code?: unknown } | undefined)?.code === failedPrecondition;
}

export interface UpdateTries {
  /** Sends in all (default 6). */
  tries?: number;
  /** The wait before the second send; each later wait doubles it (default 500 ms: 0.5 + 1 + 2 + 4 + 8 s at most). */
  firstWaitMs?: number;
}

/** `send()`'s answer, sent again while Temporal gives the update back untaken; any other error, or the last, is thrown. */
export async function updateUntilTaken<T>(send: () => Promise<T>, { tries = 6, firstWaitMs = 500 }: UpdateTries = {}): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await send();
    } catch (error) {
      if (attempt >= tries || !updateNotTaken(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, firstWaitMs * 2 ** (attempt - 1)));
    }
  }
}
