/**
 * One account's whole catalog in one request (S40): Herald is made to match it. Entries are put
 * as the catalog file puts them; users the catalog does not list are removed (their pending emails
 * cancelled, their sessions ended) and the subscriptions it does not list end, except those a user
 * chose on the settings page (S24). Environments, integrations, connections and flows it does not
 * list are kept (they hold errors people still read) and said so. A dry run answers the same and
 * changes nothing.
 */
import type { Knex } from 'knex';
import type { ChannelAddressPolicy } from '../contracts/channel-url.js';
import { keptChoices, lockCatalog, type Catalog } from '../catalog/catalog.js';
import { recordAudit } from '../stores/audit-store.js';
import type { InputProblem } from '../contracts/problems.js';
import { applyEntry, endMemberships, EntityRefused, entityKinds, listEntities, versionOf, type Actor, type EntityKind } from './entities.js';

type Counts = Record<EntityKind | 'subscriptions', number>;

export interface SyncResult {
  dryRun: boolean;
  created: Counts;
  changed: Counts;
  removed: Counts;
  /** Listed nowhere in the catalog, and kept: what removing them would lose is still read. */
  kept: Pick<Counts, 'environments' | 'integrations' | 'connections' | 'flows'>;
  /** Users whose own choice of subscriptions (settings page) stood against the catalog's. */
  keptAsChosen: number;
}

/** Thrown inside a dry run's transaction to undo it, carrying what it would have done. */
class DryRun extends Error {
  constructor(readonly result: SyncResult) {
    super('dry run');
  }
}

const zero = (): Counts => ({ environments: 0, integrations: 0, connections: 0, flows: 0, users: 0, subscriptions: 0 });

export async function syncAccount(
  db: Knex,
  request: { actor: Actor; account: string; catalog: unknown; dryRun: boolean; channelPolicy?: ChannelAddressPolicy },
): Promise<SyncResult> {
  const catalog = ownCatalog(request.account, request.catalog);
  try {
    return await db.transaction(async (trx) => {
      await lockCatalog(trx);
      const before = await snapshot(trx, request.account);
      const kept = (await applyEntry(trx, catalog, undefined, request.channelPolicy))[keptChoices] ?? 0;
      await removeUnlisted(trx, request.account, catalog);
      const after = await snapshot(trx, request.account);
      const result = { dryRun: request.dryRun, ...difference(before, after, catalog), keptAsChosen: kept };
      if (request.dryRun) throw new DryRun(result);
      await recordAudit(trx, { account: request.account, actor: request.actor, action: 'synced', kind: 'catalog', entity: request.account, detail: result });
      return result;
    });
  } catch (error) {
    if (error instanceof DryRun) return error.result;
    throw error;
  }
}

/**
 * The catalog as the account's own: entries that name an account must name this one, entries that
 * may leave it out get it, and no account is created.
 */
function ownCatalog(account: string, input: unknown): Catalog {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new EntityRefused([{ field: '(body)', message: 'must be an object with sections such as "users" and "flows"' }]);
  }
  const problems: InputProblem[] = [];
  const catalog: Record<string, unknown> = { ...input };
  if ('accounts' in catalog) problems.push({ field: 'accounts', message: "an account's sync does not create accounts (an installation's token does: PUT /api/v1/accounts/{id})" });
  for (const section of ['users', 'environments', 'channels'] as const) {
    const entries = catalog[section];
    if (!Array.isArray(entries)) continue;
    catalog[section] = entries.map((entry: unknown, index) => {
      if (typeof entry !== 'object' || entry === null) return entry;
      const named = (entry as { account?: unknown }).account;
      if (named !== undefined && named !== account) problems.push({ field: `${section}[${index}].account`, message: `must be this token's account, "${account}", or left out` });
      return { ...entry, account };
    });
  }
  if (problems.length > 0) throw new EntityRefused(problems);
  return catalog as Catalog;
}

/** Users and subscriptions of the account that the catalog does not list: removed, ended. */
async function removeUnlisted(trx: Knex.Transaction, account: string, catalog: Catalog): Promise<void> {
  const listedUsers = (catalog.users ?? []).map((user) => user.email.toLowerCase());
  const gone = await trx('users')
    .where({ account_id: account })
    .whereNull('removed_at')
    .whereNotIn('email', listedUsers)
    .update({ removed_at: trx.fn.now() })
    .returning('id');
  await endMemberships(trx, gone.map((row: { id: string }) => String(row.id)));
  const listed = (catalog.subscriptions ?? []).map((s) => [s.environment, s.user.toLowerCase()]);
  await trx.raw(
    `delete from subscriptions s
      using users u, environments e
      where u.id = s.user_id and e.id = s.environment_id and u.account_id = :account and e.account_id = :account
        and not exists (select 1 from subscription_choices c where c.user_id = s.user_id and c.environment_id = s.environment_id)
        and (s.environment_id, u.email) not in (select x.environment, x.email from jsonb_to_recordset(:listed::jsonb) as x(environment text, email text))`,
    { account, listed: JSON.stringify(listed.map(([environment, email]) => ({ environment, email }))) },
  );
}

type Snapshot = Record<EntityKind | 'subscriptions', Map<string, string>>;

/** Every entity of the account, by id, with its version. */
async function snapshot(trx: Knex.Transaction, account: string): Promise<Snapshot> {
  const taken = {} as Snapshot;
  for (const kind of entityKinds) {
    const key = kind === 'users' ? 'email' : 'id';
    const entities = await listEntities(trx, account, kind, { limit: Number.MAX_SAFE_INTEGER });
    taken[kind] = new Map(entities.filter((e) => !e.removed).map((e) => [String(e[key]), versionOf(e)]));
  }
  const rows = await trx('subscriptions as s')
    .join('users as u', 'u.id', 's.user_id')
    .where('u.account_id', account)
    .select('s.environment_id', 'u.email', trx.raw(`coalesce(s.flow_id, s.integration_id, s.connection_id) as target`));
  taken.subscriptions = new Map(rows.map((row) => [`${row.environment_id}/${row.email}/${row.target}`, '']));
  return taken;
}

function difference(before: Snapshot, after: Snapshot, catalog: Catalog): Pick<SyncResult, 'created' | 'changed' | 'removed' | 'kept'> {
  const created = zero();
  const changed = zero();
  const removed = zero();
  for (const kind of [...entityKinds, 'subscriptions'] as const) {
    for (const [id, version] of after[kind]) {
      const was = before[kind].get(id);
      if (was === undefined) created[kind] += 1;
      else if (was !== version) changed[kind] += 1;
    }
    for (const id of before[kind].keys()) if (!after[kind].has(id)) removed[kind] += 1;
  }
  const unlisted = (kind: 'environments' | 'integrations' | 'connections' | 'flows') => {
    const listed = new Set((catalog[kind] ?? []).map((entry) => entry.id));
    return [...after[kind].keys()].filter((id) => !listed.has(id)).length;
  };
  return { created, changed, removed, kept: { environments: unlisted('environments'), integrations: unlisted('integrations'), connections: unlisted('connections'), flows: unlisted('flows') } };
}
