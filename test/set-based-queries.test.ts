/**
 * Reads and writes that touch many rows do so in a fixed number of statements, not one per user,
 * flow or connection: the statements PostgreSQL receives for a small and a large case are
 * counted (knex's query events) and must be as many.
 */
import { describe, expect, it } from 'vitest';
import type { Knex } from 'knex';
import { createTestDatabase } from './helpers/database.js';
import { applyCatalog, type Catalog } from '../catalog/catalog.js';
import { createReminderStore } from '../stores/reminder-store.js';
import { createConnectionStore } from '../stores/connection-store.js';
import { createErrorStore } from '../stores/error-store.js';

const days = (n: number) => n * 86_400_000;

/** An account `id` with `n` users, `n` flows each using one of `n` connections, and a subscription per user. */
function accountCatalog(id: string, n: number): Catalog {
  const range = Array.from({ length: n }, (_, i) => i);
  const environment = `${id}-prod`;
  return {
    accounts: [{ id, name: id }],
    users: range.map((i) => ({ account: id, email: `u${i}@${id}.test`, role: 'manage' as const })),
    environments: [{ id: environment, account: id, name: 'Production', production: true }],
    integrations: [{ id: `${id}-shop`, environment, name: 'Shop' }],
    connections: range.map((i) => ({ id: `${id}-c${i}`, environment, name: `Connection ${i}` })),
    flows: range.map((i) => ({ id: `${id}-f${i}`, integration: `${id}-shop`, name: `Flow ${i}`, connections: [`${id}-c${i}`] })),
    subscriptions: range.map((i) => ({ environment, user: `u${i}@${id}.test`, flows: [`${id}-f${i}`], connections: [`${id}-c${i}`] })),
  };
}

async function statementsOf(db: Knex, work: () => Promise<unknown>): Promise<number> {
  let count = 0;
  const counting = () => (count += 1);
  db.on('query', counting);
  try {
    await work();
  } finally {
    db.off('query', counting);
  }
  return count;
}

describe('set-based reads and writes', async () => {
  const { db } = await createTestDatabase();

  it('applying a catalog takes as many statements for 60 users, flows, connections and subscriptions as for 3', async () => {
    const small = await statementsOf(db, () => applyCatalog(db, accountCatalog('small', 3)));
    const large = await statementsOf(db, () => applyCatalog(db, accountCatalog('large', 60)));
    expect(large).toBe(small);
    // Applied again with every subscription changed: still as many either way.
    const changed = (catalog: Catalog) => ({ ...catalog, subscriptions: catalog.subscriptions!.map((s) => ({ ...s, flows: [], integrations: [`${s.environment.replace('-prod', '')}-shop`] })) });
    const smallAgain = await statementsOf(db, () => applyCatalog(db, changed(accountCatalog('small', 3))));
    const largeAgain = await statementsOf(db, () => applyCatalog(db, changed(accountCatalog('large', 60))));
    expect(largeAgain).toBe(smallAgain);
    expect(await db('subscriptions').where({ environment_id: 'large-prod' }).whereNotNull('integration_id').count({ n: '*' })).toEqual([{ n: 60 }]);
    expect(await db('subscriptions').where({ environment_id: 'large-prod' }).whereNotNull('flow_id').count({ n: '*' })).toEqual([{ n: 0 }]);
  });

  it('reading the reminders of an environment takes as many statements for 40 users as for 2', async () => {
    const now = new Date();
    const remindersOf = async (id: string, n: number) => {
      await applyCatalog(db, accountCatalog(id, n));
      for (let i = 0; i < n; i += 1) {
        await createErrorStore(db).storeReport({ environment: `${id}-prod`, flow: `${id}-f${i}`, reportId: `r-${i}`, errors: [{ traceKey: `T-${i}`, message: 'still failing' }] }, new Date(now.getTime() - days(5)));
      }
      const reminders = createReminderStore(db);
      expect(await reminders.planReminders(`${id}-prod`, now)).toBe(n);
      let read: Awaited<ReturnType<typeof reminders.pendingEmails>> = [];
      const statements = await statementsOf(db, async () => (read = await reminders.pendingEmails({ environment: `${id}-prod` })));
      expect(read.map((r) => r.errors.map((e) => e.traceKey))).toEqual(Array.from({ length: n }, (_, i) => [`T-${i}`]));
      return statements;
    };
    expect(await remindersOf('few', 2)).toBe(await remindersOf('many', 40));
  });

  it('reading connection emails of many connections takes as many statements as of one, each with the flows that use its connection', async () => {
    const connections = createConnectionStore(db);
    const deliveriesOf = async (id: string, n: number) => {
      await applyCatalog(db, accountCatalog(id, n));
      for (let i = 0; i < n; i += 1) await connections.recordChange(`${id}-c${i}`, 1, 'offline', 'down', new Date());
      return (await db('notifications as d').whereNull('d.channel_id').join('users as u', 'u.id', 'd.user_id').where('u.account_id', id).where('d.kind', 'connection').pluck('d.id')).map(Number);
    };
    const one = await deliveriesOf('one-conn', 1);
    const many = await deliveriesOf('many-conn', 30);
    expect(many).toHaveLength(30);
    let read: Awaited<ReturnType<typeof connections.pendingEmails>> = [];
    const forOne = await statementsOf(db, () => connections.pendingEmails({ deliveryIds: one }));
    const forMany = await statementsOf(db, async () => (read = await connections.pendingEmails({ deliveryIds: many })));
    expect(forMany).toBe(forOne);
    expect(read).toHaveLength(30);
    for (const email of read) expect(email.usedBy).toEqual([{ integration: 'Shop', flows: [`Flow ${/c(\d+)$/.exec(email.connection.id)![1]}`] }]);
  });
});
