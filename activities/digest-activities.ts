/** Activities of the environment digest: fixing a cycle, sending its emails exactly once, closing it. */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Knex } from 'knex';
import { createDigestStore, type CycleContext, type DigestErrorRow, type DigestStore, type PendingDelivery } from './db/digest-store.js';
import { digestDetailLimit, digestEmail } from './email/digest-email.js';
import type { Mailer } from './email/mailer.js';
import { deliver } from './email/deliver.js';
import { renderEmail, type RenderedEmail } from './email/render.js';

export interface DigestActivityDeps {
  db: Knex;
  mailer: Mailer;
  appUrl: string;
  /** HERALD_DIGEST_INTERVAL, in milliseconds. */
  digestIntervalMs: number;
  /** Deliveries read from the database at once. */
  digestPageSize?: number;
  /** How long one activity call goes on sending before it returns (the workflow calls again while some remain). */
  sendBatchMs?: number;
  /** Emails sent at once within a batch. */
  sendConcurrency?: number;
}

export interface DigestBatchResult {
  sent: number;
  failed: number;
  remaining: number;
}

export function createDigestActivities(deps: DigestActivityDeps) {
  const { db, mailer, appUrl, digestPageSize = 500, sendBatchMs = 60_000, sendConcurrency = 20 } = deps;
  const store = createDigestStore(db);
  return {
    /** The digest interval this worker is configured with. */
    async digestInterval(): Promise<number> {
      return deps.digestIntervalMs;
    },

    async lastDigestCycle(environment: string): Promise<number> {
      return store.lastCycleNumber(environment);
    },

    /** Fixes the content of cycle `number` once (S7, S9–S11, S16, S17). */
    async fixDigestCycle(environment: string, number: number) {
      return store.fixCycle(environment, number);
    },

    /**
     * Sends the cycle's pending digests for up to `sendBatchMs`, then returns for the workflow to
     * call again while some remain. Deliveries are read a page at a time, the next page while the
     * current one is being sent. Each is marked sent right after SMTP accepts it, so a retry sends
     * only the rest (S12). A refused recipient is marked failed; any other failure is thrown once
     * the emails in flight are done, for Temporal to retry.
     */
    async sendDigestBatch(cycleId: number): Promise<DigestBatchResult> {
      const context = await store.cycleContext(cycleId);
      const deadline = performance.now() + sendBatchMs;
      // Each flow's first new errors, loaded once per call for all the pages that need them.
      const newByFlow = new Map<string, DigestErrorRow[]>();
      // Users who follow the same flows and have nothing resolved get the same email: render it once.
      const sharedRenders = new Map<string, Promise<ComposedDigest>>();
      const render = async (delivery: PendingDelivery) => {
        if (delivery.resolvedCount > 0) return composeDigest(store, context, delivery, newByFlow, appUrl);
        const key = `${delivery.openCount}|${delivery.flowIds.join(',')}`;
        let shared = sharedRenders.get(key);
        if (!shared) sharedRenders.set(key, (shared = composeDigest(store, context, delivery, newByFlow, appUrl)));
        return shared;
      };

      let sent = 0;
      let failed = 0;
      let transient: unknown;
      const queue: PendingDelivery[] = [];
      let lastId = 0;
      let exhausted = false;
      let loading: Promise<void> | undefined;
      const loadPage = async () => {
        const page = await store.pendingDeliveries(cycleId, digestPageSize, lastId);
        const missing = [...new Set(page.flatMap((d) => d.flowIds))].filter((id) => !newByFlow.has(id));
        if (missing.length > 0) {
          const loaded = await store.newErrorsByFlow(cycleId, missing, digestDetailLimit);
          for (const id of missing) newByFlow.set(id, loaded.get(id) ?? []);
        }
        queue.push(...page);
        lastId = page.at(-1)?.id ?? lastId;
        exhausted = page.length < digestPageSize;
      };
      /** The next delivery to send; a page is read ahead while the queue runs low. */
      const next = async (): Promise<PendingDelivery | undefined> => {
        for (;;) {
          if (!loading && !exhausted && transient === undefined && queue.length <= sendConcurrency && performance.now() < deadline) {
            loading = loadPage()
              .catch((error: unknown) => {
                transient ??= error;
              })
              .finally(() => (loading = undefined));
          }
          if (queue.length > 0) return queue.shift();
          if (!loading) return undefined;
          await loading;
        }
      };
      const worker = async () => {
        for (let delivery = await next(); delivery; delivery = await next()) {
          // A worker shutting down aborts the attempt: stop here and fail it (retryable), so the
          // retry, on this worker or another, sends the rest at once instead of after a timeout.
          if (Context.current().cancellationSignal.aborted) {
            transient ??= ApplicationFailure.retryable('the worker is shutting down; the rest is sent by the retry', 'WorkerShutdown');
            return;
          }
          // Any failure is kept for after the emails in flight are done: failing the attempt while
          // they are still being sent would let its retry send them a second time.
          try {
            const { subject, rendered } = await render(delivery);
            const messageId = `<digest.${cycleId}.${delivery.userId}@herald>`;
            const outcome = await deliver(mailer, store, delivery.id, { to: delivery.recipient, subject, ...rendered, messageId });
            if (outcome === 'sent') sent += 1;
            else failed += 1;
          } catch (error) {
            transient ??= error;
          }
          Context.current().heartbeat({ sent, failed });
        }
      };
      await Promise.all(Array.from({ length: sendConcurrency }, worker));
      if (transient) throw transient;
      return { sent, failed, remaining: await store.countPending(cycleId) };
    },

    async completeDigestCycle(cycleId: number) {
      return store.completeCycle(cycleId);
    },
  };
}

export type DigestActivities = ReturnType<typeof createDigestActivities>;

export interface ComposedDigest {
  subject: string;
  rendered: RenderedEmail;
}

/**
 * One delivery's digest email, rendered. `newByFlow` holds the first new errors of (at least)
 * the delivery's flows; its resolved errors are read here, as they depend on the user (S9).
 */
export async function composeDigest(
  store: DigestStore,
  context: CycleContext,
  delivery: PendingDelivery,
  newByFlow: Map<string, DigestErrorRow[]>,
  appUrl: string,
): Promise<ComposedDigest> {
  const newRows = firstRows(delivery.flowIds, newByFlow, digestDetailLimit);
  const resolvedRows =
    delivery.resolvedCount > 0 ? await store.resolvedErrors(context.cycleId, delivery.userId, delivery.flowIds, digestDetailLimit) : [];
  const email = digestEmail(context, delivery, newRows, resolvedRows, appUrl);
  return { subject: email.subject, rendered: await renderEmail('digest', email.model) };
}

/** A user's first `limit` new errors: its flows' lists, in digest order (flow name, then time). */
function firstRows(flowIds: string[], byFlow: Map<string, DigestErrorRow[]>, limit: number): DigestErrorRow[] {
  const lists = flowIds.map((id) => byFlow.get(id) ?? []).filter((list) => list.length > 0);
  lists.sort((a, b) => a[0]!.flowName.localeCompare(b[0]!.flowName) || a[0]!.flowId.localeCompare(b[0]!.flowId));
  return lists.flat().slice(0, limit);
}
