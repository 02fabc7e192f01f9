/** What operators see of each environment (`herald status`): its errors and connections, as stored. */
import type { Knex } from 'knex';
import type { ConnectionState } from '../contracts/error-report.js';

export interface EnvironmentOverview {
  id: string;
  name: string;
  production: boolean;
  open: number;
  retrying: number;
  /** The connections it sees, with their last notified status (null before any report). */
  connections: { id: string; name: string; status: ConnectionState | null; since: Date | null }[];
}

/** Every environment, by id, with its open and retrying error counts and its connections. */
export async function environmentOverviews(db: Knex): Promise<EnvironmentOverview[]> {
  const environments: { id: string; name: string; production: boolean }[] = await db('environments').orderBy('id').select('id', 'name', 'production');
  const counts: { environment_id: string; status: string; n: number }[] = await db('errors')
    .whereIn('status', ['open', 'retrying'])
    .groupBy('environment_id', 'status')
    .select('environment_id', 'status', db.raw('count(*)::int as n'));
  const connections: { id: string; name: string; environment: string; status: ConnectionState | null; since: Date | null }[] = await db('connections as c')
    .join('environments as e', 'e.resource_group', 'c.resource_group')
    .leftJoin('connection_status as s', 's.connection_id', 'c.id')
    .orderBy(['e.id', 'c.id'])
    .select('c.id', 'c.name', 'e.id as environment', 's.status', 's.since');
  const count = (environment: string, status: string) => counts.find((c) => c.environment_id === environment && c.status === status)?.n ?? 0;
  return environments.map((env) => ({
    ...env,
    open: count(env.id, 'open'),
    retrying: count(env.id, 'retrying'),
    connections: connections.filter((c) => c.environment === env.id).map(({ environment: _, ...c }) => c),
  }));
}
