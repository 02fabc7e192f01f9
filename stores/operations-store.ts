/**
 * What an operator watches in the database: deliveries waiting to be sent (and the oldest of
 * them), deliveries deferred by a refusal for now, and how long ago the digest that has gone the
 * longest without a cycle last ran. Figures over all environments: no label grows with customers.
 */
import type { Knex } from 'knex';

export interface OperationsSnapshot {
  /** Deliveries planned and not yet sent, failed or cancelled, not waiting for a retry. */
  pendingDeliveries: number;
  /** Deliveries a recipient refused for now (4xx), waiting for their retry (S34). */
  deferredDeliveries: number;
  /** Age of the oldest delivery still pending or deferred, in seconds (0 when none). */
  oldestPendingSeconds: number;
  /** Seconds since the last cycle of the environment whose digest has gone the longest without one (0 when none ran). */
  stalestDigestSeconds: number;
}

export async function readOperations(db: Knex): Promise<OperationsSnapshot> {
  const deliveries = await db.raw(`
    select count(*) filter (where retry_at is null) as pending,
           count(*) filter (where retry_at is not null) as deferred,
           coalesce(extract(epoch from now() - min(created_at)), 0) as oldest
      from email_deliveries where status = 'pending'`);
  const digests = await db.raw(`
    select coalesce(extract(epoch from now() - min(last_cycle)), 0) as stalest
      from (select max(c.fixed_at) as last_cycle
              from digest_cycles c join environments e on e.id = c.environment_id
             where e.removed_at is null
             group by c.environment_id) as latest`);
  const d = deliveries.rows[0];
  return {
    pendingDeliveries: Number(d.pending),
    deferredDeliveries: Number(d.deferred),
    oldestPendingSeconds: Math.max(0, Number(d.oldest)),
    stalestDigestSeconds: Math.max(0, Number(digests.rows[0].stalest)),
  };
}
