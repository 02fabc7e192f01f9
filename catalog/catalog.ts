/**
 * The catalog: a JSON or YAML declaration of accounts, users, environments, integrations,
 * connections, flows and subscriptions. Applying it upserts every entry; applying the same
 * catalog twice changes nothing. A bad catalog is refused whole with every problem listed.
 */
import type { Knex } from 'knex';
import { CatalogError } from './catalog-error.js';
import type { InputProblem } from '../contracts/problems.js';
import { checkCatalogShape, type CheckedCatalog as Catalog } from '../contracts/catalog.js';
import { parseDuration } from '../contracts/duration.js';

export { userRoles } from '../contracts/catalog.js';
export type {
  Catalog,
  CatalogAccount,
  CatalogConnection,
  CatalogEnvironment,
  CatalogFlow,
  CatalogIntegration,
  CatalogSubscription,
  CatalogUser,
  UserRole,
} from '../contracts/catalog.js';

/** What applying a catalog changed, by table: rows inserted or updated. Zero everywhere on a re-apply. */
export type CatalogChanges = Record<string, number>;

/** Applies a catalog in one transaction; throws {@link CatalogError} (nothing written) when it is bad. */
export async function applyCatalog(db: Knex, input: unknown): Promise<CatalogChanges> {
  const changes = await db.transaction(async (trx) => {
    // Serialise catalog applications, so two at once cannot both pass validation against stale rows.
    await trx.raw('select pg_advisory_xact_lock(hashtext(?))', ['herald.catalog']);
    const shape = checkCatalogShape(input);
    const { catalog } = shape;
    const problems: InputProblem[] = [...shape.problems];
    const world = await loadWorld(trx);
    resolveReferences(catalog, world, problems);
    if (problems.length > 0) throw new CatalogError(problems);
    return write(trx, catalog, world);
  });
  // The digest's queries are planned from table statistics. Refreshed here, a catalog that added
  // thousands of users is not planned as an empty one until autovacuum gets round to it.
  const changed = Object.keys(changes).filter((table) => table !== keptChoices && (changes[table] ?? 0) > 0);
  if (changed.length > 0) await db.raw(`analyze ${changed.map(() => '??').join(', ')}`, changed);
  return changes;
}

// ---- references --------------------------------------------------------------------------

interface Env { account: string; production: boolean; group: string }
interface Scoped { account: string; group: string }
interface World {
  accounts: Set<string>;
  /** account id + "\n" + email */
  users: Map<string, { removed: boolean }>;
  environments: Map<string, Env>;
  integrations: Map<string, Scoped>;
  connections: Map<string, Scoped>;
  flows: Map<string, Scoped & { integration: string }>;
}

async function loadWorld(trx: Knex.Transaction): Promise<World> {
  // One after another: a transaction is one connection, which runs one query at a time.
  const accounts = await trx('accounts').select('id');
  const users = await trx('users').select('account_id', 'email', 'removed_at');
  const environments = await trx('environments').select('id', 'account_id', 'production', 'resource_group');
  const integrations = await trx('integrations').select('id', 'account_id', 'resource_group');
  const connections = await trx('connections').select('id', 'account_id', 'resource_group');
  const flows = await trx('flows as f')
    .join('integrations as i', 'i.id', 'f.integration_id')
    .select('f.id', 'f.integration_id', 'i.account_id', 'i.resource_group');
  return {
    accounts: new Set(accounts.map((a) => a.id)),
    users: new Map(users.map((u) => [userKey(u.account_id, u.email), { removed: u.removed_at !== null }])),
    environments: new Map(
      environments.map((e) => [e.id, { account: e.account_id, production: e.production, group: e.resource_group }]),
    ),
    integrations: new Map(integrations.map((i) => [i.id, { account: i.account_id, group: i.resource_group }])),
    connections: new Map(connections.map((c) => [c.id, { account: c.account_id, group: c.resource_group }])),
    flows: new Map(
      flows.map((f) => [f.id, { account: f.account_id, group: f.resource_group, integration: f.integration_id }]),
    ),
  };
}

const userKey = (account: string, email: string) => `${account}\n${email.toLowerCase()}`;

/**
 * Checks every reference against the catalog itself and what is stored, section by section,
 * adding the catalog's own entries to `world` as they pass, so later sections can name them.
 */
function resolveReferences(catalog: Catalog, world: World, problems: InputProblem[]): void {
  const problem = (field: string, message: string) => problems.push({ field, message });
  const duplicates = (section: string, keys: string[]) => {
    const seen = new Map<string, number>();
    keys.forEach((key, index) => {
      const first = seen.get(key);
      if (first !== undefined) problem(`${section}[${index}]`, `repeats ${section}[${first}] ("${key}")`);
      else seen.set(key, index);
    });
  };

  const accounts = catalog.accounts ?? [];
  duplicates('accounts', accounts.map((a) => a.id));
  accounts.forEach((a) => world.accounts.add(a.id));

  const users = catalog.users ?? [];
  duplicates('users', users.map((u) => userKey(u.account, u.email)));
  users.forEach((u, i) => {
    if (!world.accounts.has(u.account)) problem(`users[${i}].account`, `unknown account "${u.account}"`);
    world.users.set(userKey(u.account, u.email), { removed: u.removed === true });
  });

  const environments = catalog.environments ?? [];
  duplicates('environments', environments.map((e) => e.id));
  // An environment belongs to its account for good (S36): checked against what is stored, before
  // the catalog's own entries take their place in the world.
  environments.forEach((e, i) => {
    const stored = world.environments.get(e.id);
    if (stored && stored.account !== e.account) problem(`environments[${i}].account`, `environment "${e.id}" belongs to account "${stored.account}"`);
  });
  for (const e of environments) {
    const stored = world.environments.get(e.id);
    world.environments.set(e.id, { account: e.account, production: e.production, group: stored?.group ?? e.id });
  }
  environments.forEach((e, i) => {
    const at = `environments[${i}]`;
    if (!world.accounts.has(e.account)) problem(`${at}.account`, `unknown account "${e.account}"`);
    if (e.sharesResourcesWith === undefined || e.sharesResourcesWith === null) return;
    const partner = world.environments.get(e.sharesResourcesWith);
    if (!partner) return problem(`${at}.sharesResourcesWith`, `unknown environment "${e.sharesResourcesWith}"`);
    if (e.sharesResourcesWith === e.id) return problem(`${at}.sharesResourcesWith`, 'cannot name the environment itself');
    if (partner.account !== e.account) problem(`${at}.sharesResourcesWith`, `environment "${e.sharesResourcesWith}" belongs to another account`);
    if (partner.production === e.production) {
      problem(`${at}.sharesResourcesWith`, 'a legacy pair is one production and one non-production environment');
    }
  });
  // A legacy pair shares the production environment's resource group.
  environments.forEach((e) => {
    if (!e.sharesResourcesWith) return;
    const production = e.production ? e.id : e.sharesResourcesWith;
    for (const id of [e.id, e.sharesResourcesWith]) {
      const env = world.environments.get(id);
      if (env) env.group = production;
    }
  });

  const placed = (section: 'integrations' | 'connections', entries: { id: string; environment: string }[]) => {
    duplicates(section, entries.map((x) => x.id));
    entries.forEach((x, i) => {
      const env = world.environments.get(x.environment);
      if (!env) return problem(`${section}[${i}].environment`, `unknown environment "${x.environment}"`);
      const stored = world[section].get(x.id);
      if (stored && stored.account !== env.account) {
        problem(`${section}[${i}].environment`, `"${x.id}" belongs to account "${stored.account}"`);
      } else if (stored && stored.group !== env.group) {
        problem(`${section}[${i}].environment`, `"${x.id}" already belongs to another environment`);
      }
      world[section].set(x.id, { account: env.account, group: env.group });
    });
  };
  placed('integrations', catalog.integrations ?? []);
  placed('connections', catalog.connections ?? []);

  const flows = catalog.flows ?? [];
  duplicates('flows', flows.map((f) => f.id));
  flows.forEach((f, i) => {
    const integration = world.integrations.get(f.integration);
    if (!integration) return problem(`flows[${i}].integration`, `unknown integration "${f.integration}"`);
    const stored = world.flows.get(f.id);
    if (stored && stored.account !== integration.account) {
      return problem(`flows[${i}].integration`, `flow "${f.id}" belongs to account "${stored.account}"`);
    }
    world.flows.set(f.id, { ...integration, integration: f.integration });
    (f.connections ?? []).forEach((c, j) => {
      const connection = world.connections.get(c);
      if (!connection) problem(`flows[${i}].connections[${j}]`, `unknown connection "${c}"`);
      else if (connection.group !== integration.group) {
        problem(`flows[${i}].connections[${j}]`, `connection "${c}" is in another environment`);
      }
    });
  });

  const subscriptions = catalog.subscriptions ?? [];
  duplicates('subscriptions', subscriptions.map((s) => `${s.environment}\n${s.user.toLowerCase()}`));
  subscriptions.forEach((s, i) => {
    const at = `subscriptions[${i}]`;
    const env = world.environments.get(s.environment);
    if (!env) return problem(`${at}.environment`, `unknown environment "${s.environment}"`);
    const user = world.users.get(userKey(env.account, s.user));
    if (!user) problem(`${at}.user`, `"${s.user}" is not a user of account "${env.account}"`);
    else if (user.removed) problem(`${at}.user`, `"${s.user}" was removed from account "${env.account}"`);
    for (const section of ['flows', 'integrations', 'connections'] as const) {
      (s[section] ?? []).forEach((id, j) => {
        const target = world[section].get(id);
        const what = section.slice(0, -1);
        if (!target) problem(`${at}.${section}[${j}]`, `unknown ${what} "${id}"`);
        else if (target.account !== env.account) problem(`${at}.${section}[${j}]`, `${what} "${id}" belongs to another account`);
        else if (target.group !== env.group) problem(`${at}.${section}[${j}]`, `${what} "${id}" is not in environment "${s.environment}"`);
      });
    }
  });
}

// ---- write -------------------------------------------------------------------------------

async function write(trx: Knex.Transaction, catalog: Catalog, world: World): Promise<CatalogChanges> {
  const changes: CatalogChanges = {};
  const upsert = async (table: string, conflict: string[], rows: Record<string, unknown>[]) => {
    if (rows.length === 0) return;
    const columns = Object.keys(rows[0]!).filter((c) => !conflict.includes(c));
    // Update only where something differs, so a re-apply reports (and writes) nothing.
    const differs = columns.map((c) => `${table}.${c} is distinct from excluded.${c}`).join(' or ');
    const written = await trx(table)
      .insert(rows)
      .onConflict(conflict)
      .merge()
      .whereRaw(differs || 'false')
      .returning(conflict);
    changes[table] = (changes[table] ?? 0) + written.length;
  };

  await upsert('accounts', ['id'], (catalog.accounts ?? []).map((a) => ({ id: a.id, name: a.name })));
  await upsert(
    'users',
    ['account_id', 'email'],
    (catalog.users ?? []).map((u) => ({
      account_id: u.account,
      email: u.email.toLowerCase(),
      name: u.name ?? null,
      role: u.role,
    })),
  );
  for (const removed of [true, false]) {
    const emails = (catalog.users ?? []).filter((u) => (u.removed ?? false) === removed);
    for (const u of emails) {
      const changed = await trx('users')
        .where({ account_id: u.account, email: u.email.toLowerCase() })
        .where('removed_at', removed ? 'is' : 'is not', null)
        .update({ removed_at: removed ? trx.fn.now() : null });
      changes.users = (changes.users ?? 0) + changed;
    }
  }
  // Environments named by a legacy pair get the pair's group, whether or not this catalog lists them.
  const environmentRows = [...world.environments.entries()]
    .filter(([id]) => (catalog.environments ?? []).some((e) => e.id === id || e.sharesResourcesWith === id))
    .map(([id, env]) => {
      const declared = (catalog.environments ?? []).find((e) => e.id === id);
      return { id, env, declared };
    });
  for (const { id, env, declared } of environmentRows) {
    if (declared) {
      await upsert('environments', ['id'], [{
        id, account_id: declared.account, name: declared.name, production: declared.production, resource_group: env.group,
        ...(declared.remindAfter && { remind_after_ms: parseDuration(declared.remindAfter) }),
      }]);
    } else {
      const updated = await trx('environments').where({ id }).whereNot({ resource_group: env.group }).update({ resource_group: env.group });
      changes.environments = (changes.environments ?? 0) + updated;
    }
  }
  for (const section of ['integrations', 'connections'] as const) {
    await upsert(section, ['id'], (catalog[section] ?? []).map((x) => {
      const env = world.environments.get(x.environment)!;
      return { id: x.id, account_id: env.account, resource_group: env.group, name: x.name };
    }));
  }
  const flows = catalog.flows ?? [];
  await upsert('flows', ['id'], flows.map((f) => ({
    id: f.id, integration_id: f.integration, name: f.name, auto_resolve: f.autoResolve ?? false, task_queue: f.taskQueue ?? null,
  })));
  for (const f of flows) {
    await replaceSet(trx, changes, 'flow_connections', { flow_id: f.id }, 'connection_id', f.connections ?? []);
  }

  for (const s of catalog.subscriptions ?? []) {
    const env = world.environments.get(s.environment)!;
    const user = await trx('users').where({ account_id: env.account, email: s.user.toLowerCase() }).first('id');
    const owner = { user_id: user.id, environment_id: s.environment };
    // A user's own choice on the settings page (S24) stands: the catalog says so instead of undoing it.
    if (await trx('subscription_choices').where(owner).first('user_id')) {
      changes[keptChoices] = (changes[keptChoices] ?? 0) + 1;
      continue;
    }
    await replaceSet(trx, changes, 'subscriptions', { ...owner, integration_id: null, connection_id: null }, 'flow_id', s.flows ?? []);
    await replaceSet(trx, changes, 'subscriptions', { ...owner, flow_id: null, connection_id: null }, 'integration_id', s.integrations ?? []);
    await replaceSet(trx, changes, 'subscriptions', { ...owner, flow_id: null, integration_id: null }, 'connection_id', s.connections ?? []);
  }
  return changes;
}

/** How the changes count subscriptions a catalog left as the user chose them in their settings. */
export const keptChoices = 'subscriptions kept as chosen in settings';

/** Makes the rows matching `owner` hold exactly `values` in `column`: adds the missing, deletes the rest. */
async function replaceSet(
  trx: Knex.Transaction,
  changes: CatalogChanges,
  table: string,
  owner: Record<string, unknown>,
  column: string,
  values: string[],
): Promise<void> {
  const scope = () => trx(table).where(owner).whereNotNull(column);
  const existing = new Set((await scope().select(column)).map((row) => row[column] as string));
  const wanted = new Set(values);
  const added = [...wanted].filter((v) => !existing.has(v));
  const removed = [...existing].filter((v) => !wanted.has(v));
  if (added.length > 0) {
    const notNull = Object.fromEntries(Object.entries(owner).filter(([, v]) => v !== null));
    await trx(table).insert(added.map((v) => ({ ...notNull, [column]: v })));
  }
  if (removed.length > 0) await scope().whereIn(column, removed).delete();
  changes[table] = (changes[table] ?? 0) + added.length + removed.length;
}
