/**
 * What an operator watches in the database: deliveries waiting to be sent (and the oldest of
 * them), deliveries deferred by a refusal for now, and how long the oldest news no digest has taken
 * yet has waited. Figures over all environments: no label grows with customers.
 */
import type { Knex } from 'knex';

export interface OperationsSnapshot {
  /** Deliveries planned and not yet sent, failed or cancelled, not waiting for a retry. */
  pendingDeliveries: number;
  /** Deliveries a recipient refused for now (4xx), waiting for their retry (S34). */
  deferredDeliveries: number;
  /** Age of the oldest delivery still pending or deferred, in seconds (0 when none). */
  oldestPendingSeconds: number;
  /**
   * Seconds the oldest news (an error opened or resolved) that no digest has taken yet has waited,
   * over environments not removed (0 when none waits). A quiet digest runs no cycle (#40): what is
   * late is news not taken, not a cycle not run.
   */
  newsWaitingSeconds: number;
}

export async function readOperations(db: Knex): Promise<OperationsSnapshot> {
  const deliveries = await db.raw(`
    select count(*) filter (where retry_at is null) as pending,
           count(*) filter (where retry_at is not null) as deferred,
           coalesce(extract(epoch from now() - min(created_at)), 0) as oldest
      from notifications where status = 'pending'`);
  const digests = await db.raw(`
    select coalesce(extract(epoch from now() - min(digest_news_since)), 0) as waiting
      from environments where removed_at is null and digest_news_since is not null`);
  const d = deliveries.rows[0];
  return {
    pendingDeliveries: Number(d.pending),
    deferredDeliveries: Number(d.deferred),
    oldestPendingSeconds: Math.max(0, Number(d.oldest)),
    newsWaitingSeconds: Math.max(0, Number(digests.rows[0].waiting)),
  };
}
