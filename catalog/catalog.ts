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
import { recordAudit } from '../stores/audit-store.js';
import { saveRhythmIn } from '../stores/settings-store.js';
import { saveWeeklyReviewIn } from '../stores/weekly-review-store.js';
import { lockCatalog } from '../stores/catalog-lock.js';
import { channelUrlProblem, productionPolicy, type ChannelAddressPolicy } from '../contracts/channel-url.js';
import { createChannelStore, emailOnly, setChannelRhythm } from '../stores/channel-store.js';
import { channelSecretProblem } from '../contracts/channel.js';
import { everyCycle } from '../contracts/rhythm.js';

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

/**
 * Serialises what changes the catalog's entities (a catalog applied, an entity put or removed, an
 * account synced), so that two at once cannot both pass validation against stale rows; cycles'
 * fixes hold it shared (stores/catalog-lock.ts).
 */
export { lockCatalog };

/** What applying a catalog changed, by table: rows inserted or updated. Zero everywhere on a re-apply. */
export type CatalogChanges = Record<string, number>;

/**
 * Applies a catalog in one transaction; throws {@link CatalogError} (nothing written) when it is
 * bad. `refreshStatistics: false` leaves the tables' statistics to autovacuum: for one entity put
 * over the API, which changes a row or two.
 */
export async function applyCatalog(
  db: Knex,
  input: unknown,
  options: {
    refreshStatistics?: boolean;
    /** Who applies it, for the audit of each account it changes (the entity API records its own). */
    actor?: string;
    /** Where channels may post (HERALD_CHANNEL_ALLOW; S43); default HTTPS to public addresses only. */
    channelPolicy?: ChannelAddressPolicy;
  } = {},
): Promise<CatalogChanges> {
  const changes = await db.transaction(async (trx) => {
    await lockCatalog(trx);
    const shape = checkCatalogShape(input);
    const { catalog } = shape;
    const problems: InputProblem[] = [...shape.problems];
    const named = namedBy(catalog);
    const world = await loadWorld(trx, named);
    resolveReferences(catalog, world, problems);
    if (problems.length > 0) throw new CatalogError(problems);
    const changes = await write(trx, catalog, world);
    // Channels and where subscriptions go (S43); a problem here undoes the whole apply.
    await writeChannels(trx, catalog, changes, options.channelPolicy ?? productionPolicy);
    if (options.actor && Object.entries(changes).some(([table, n]) => !keptCounts.includes(table) && n > 0)) {
      for (const account of accountsOf(named, world)) {
        await recordAudit(trx, { account, actor: options.actor, action: 'applied', kind: 'catalog', entity: account, detail: changes });
      }
    }
    return changes;
  });
  // The digest's queries are planned from table statistics. Refreshed here, a catalog that added
  // thousands of users is not planned as an empty one until autovacuum gets round to it.
  const changed = Object.keys(changes).filter((table) => !keptCounts.includes(table) && (changes[table] ?? 0) > 0);
  if (changed.length > 0 && options.refreshStatistics !== false) await db.raw(`analyze ${changed.map(() => '??').join(', ')}`, changed);
  return changes;
}

// ---- references --------------------------------------------------------------------------

/** What is stored of an entity (or put by this catalog): `removed` while the platform has removed it and nothing put it back. */
interface Env { account: string; production: boolean; group: string; removed?: boolean }
interface Scoped { account: string; group: string; removed?: boolean }
interface World {
  accounts: Set<string>;
  /** account id + "\n" + email */
  users: Map<string, { removed: boolean }>;
  environments: Map<string, Env>;
  integrations: Map<string, Scoped>;
  connections: Map<string, Scoped>;
  flows: Map<string, Scoped & { integration: string }>;
}

/**
 * What is stored of everything the catalog names (and nothing else: an installation holds
 * thousands of accounts, and one user put over the API must not read them all).
 */
async function loadWorld(trx: Knex.Transaction, named: Named): Promise<World> {
  // One after another: a transaction is one connection, which runs one query at a time.
  const accounts = await trx('accounts').whereIn('id', [...named.accounts]).select('id');
  // Addresses are stored lower-cased.
  const users = await trx('users').whereIn('email', [...named.emails]).select('account_id', 'email', 'removed_at');
  const environments = await trx('environments').whereIn('id', [...named.environments]).select('id', 'account_id', 'production', 'resource_group', 'removed_at');
  const integrations = await trx('integrations').whereIn('id', [...named.integrations]).select('id', 'account_id', 'resource_group', 'removed_at');
  const connections = await trx('connections').whereIn('id', [...named.connections]).select('id', 'account_id', 'resource_group', 'removed_at');
  const flows = await trx('flows as f')
    .join('integrations as i', 'i.id', 'f.integration_id')
    .whereIn('f.id', [...named.flows])
    .select('f.id', 'f.integration_id', 'i.account_id', 'i.resource_group', 'f.removed_at');
  return {
    accounts: new Set(accounts.map((a) => a.id)),
    users: new Map(users.map((u) => [userKey(u.account_id, u.email), { removed: u.removed_at !== null }])),
    environments: new Map(
      environments.map((e) => [e.id, { account: e.account_id, production: e.production, group: e.resource_group, removed: e.removed_at !== null }]),
    ),
    integrations: new Map(integrations.map((i) => [i.id, { account: i.account_id, group: i.resource_group, removed: i.removed_at !== null }])),
    connections: new Map(connections.map((c) => [c.id, { account: c.account_id, group: c.resource_group, removed: c.removed_at !== null }])),
    flows: new Map(
      flows.map((f) => [f.id, { account: f.account_id, group: f.resource_group, integration: f.integration_id, removed: f.removed_at !== null }]),
    ),
  };
}

/** The accounts a catalog names, directly or through the environments its entries are in. */
function accountsOf(named: Named, world: World): string[] {
  const accounts = new Set(named.accounts);
  for (const id of named.environments) {
    const env = world.environments.get(id);
    if (env) accounts.add(env.account);
  }
  return [...accounts].sort();
}

type Named = ReturnType<typeof namedBy>;

/** Every id the catalog names, by kind (users by address, lower-cased). */
function namedBy(catalog: Catalog) {
  const subscriptions = catalog.subscriptions ?? [];
  const flows = catalog.flows ?? [];
  return {
    accounts: new Set([...(catalog.accounts ?? []).map((a) => a.id), ...(catalog.users ?? []).map((u) => u.account), ...(catalog.environments ?? []).map((e) => e.account)]),
    emails: new Set([...(catalog.users ?? []).map((u) => u.email), ...subscriptions.map((s) => s.user)].map((email) => email.toLowerCase())),
    environments: new Set([
      ...(catalog.environments ?? []).flatMap((e) => [e.id, ...(e.sharesResourcesWith ? [e.sharesResourcesWith] : [])]),
      ...[...(catalog.integrations ?? []), ...(catalog.connections ?? []), ...subscriptions].map((x) => x.environment),
    ]),
    integrations: new Set([...(catalog.integrations ?? []).map((i) => i.id), ...flows.map((f) => f.integration), ...subscriptions.flatMap((s) => s.integrations ?? [])]),
    connections: new Set([...(catalog.connections ?? []).map((c) => c.id), ...flows.flatMap((f) => f.connections ?? []), ...subscriptions.flatMap((s) => s.connections ?? [])]),
    flows: new Set([...flows.map((f) => f.id), ...subscriptions.flatMap((s) => s.flows ?? [])]),
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
      if (env.removed) return problem(`${section}[${i}].environment`, `environment "${x.environment}" was removed`);
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
    if (integration.removed) return problem(`flows[${i}].integration`, `integration "${f.integration}" was removed`);
    const stored = world.flows.get(f.id);
    if (stored && stored.account !== integration.account) {
      return problem(`flows[${i}].integration`, `flow "${f.id}" belongs to account "${stored.account}"`);
    }
    world.flows.set(f.id, { account: integration.account, group: integration.group, integration: f.integration });
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
    if (env.removed) return problem(`${at}.environment`, `environment "${s.environment}" was removed`);
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
        else if (target.removed) problem(`${at}.${section}[${j}]`, `${what} "${id}" was removed`);
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
    const keys = (catalog.users ?? []).filter((u) => (u.removed ?? false) === removed).map((u) => [u.account, u.email.toLowerCase()]);
    if (keys.length === 0) continue;
    const changed = await trx.raw(
      `update users u set removed_at = ${removed ? 'now()' : 'null'}
         from unnest(?::text[], ?::text[]) as k(account_id, email)
        where u.account_id = k.account_id and u.email = k.email and u.removed_at is ${removed ? '' : 'not '}null`,
      columnsOf(keys, 2),
    );
    changes.users = (changes.users ?? 0) + (changed.rowCount ?? 0);
  }
  // Environments named by a legacy pair get the pair's group, whether or not this catalog lists them.
  const environmentRows = [...world.environments.entries()]
    .filter(([id]) => (catalog.environments ?? []).some((e) => e.id === id || e.sharesResourcesWith === id))
    .map(([id, env]) => {
      const declared = (catalog.environments ?? []).find((e) => e.id === id);
      return { id, env, declared };
    });
  // Declared ones in two statements, those with a reminder threshold and those keeping theirs.
  for (const withThreshold of [true, false]) {
    await upsert('environments', ['id'], environmentRows
      .filter(({ declared }) => declared && Boolean(declared.remindAfter) === withThreshold)
      .map(({ id, env, declared }) => ({
        id, account_id: declared!.account, name: declared!.name, production: declared!.production, resource_group: env.group, removed_at: null,
        ...(withThreshold && { remind_after_ms: parseDuration(declared!.remindAfter!) }),
      })));
  }
  const regrouped = environmentRows.filter(({ declared }) => !declared).map(({ id, env }) => [id, env.group]);
  for (const some of chunks(regrouped)) {
    const updated = await trx.raw(
      `update environments e set resource_group = v.resource_group
         from (values ${some.map(() => '(?, ?)').join(', ')}) as v(id, resource_group)
        where e.id = v.id and e.resource_group is distinct from v.resource_group`,
      some.flat(),
    );
    changes.environments = (changes.environments ?? 0) + (updated.rowCount ?? 0);
  }
  for (const section of ['integrations', 'connections'] as const) {
    await upsert(section, ['id'], (catalog[section] ?? []).map((x) => {
      const env = world.environments.get(x.environment)!;
      return { id: x.id, account_id: env.account, resource_group: env.group, name: x.name, removed_at: null };
    }));
  }
  const flows = catalog.flows ?? [];
  await upsert('flows', ['id'], flows.map((f) => ({
    id: f.id, integration_id: f.integration, name: f.name, auto_resolve: f.autoResolve ?? false, task_queue: f.taskQueue ?? null, removed_at: null,
  })));
  await replaceSets(trx, changes, 'flow_connections', [['flow_id', 'text']], 'connection_id', flows.map((f) => ({ owner: [f.id], values: f.connections ?? [] })));

  const subscriptions = catalog.subscriptions ?? [];
  const userKeys = subscriptions.map((s) => [world.environments.get(s.environment)!.account, s.user.toLowerCase()]);
  const userIds = new Map<string, string>();
  const { rows: users } = await trx.raw(
    'select u.id, u.account_id, u.email from users u join unnest(?::text[], ?::text[]) as k(account_id, email) using (account_id, email)',
    columnsOf(userKeys, 2),
  );
  for (const row of users) userIds.set(`${row.account_id}\n${row.email}`, String(row.id));
  const owned = subscriptions.map((s, i) => ({ s, owner: [userIds.get(userKeys[i]!.join('\n'))!, s.environment] }));
  // A user's own choice on the settings page (S24) stands: the catalog says so instead of undoing it.
  const chosen = new Set<string>();
  const { rows: choices } = await trx.raw(
    'select c.user_id, c.environment_id from subscription_choices c join unnest(?::bigint[], ?::text[]) as k(user_id, environment_id) using (user_id, environment_id)',
    columnsOf(owned.map(({ owner }) => owner), 2),
  );
  for (const row of choices) chosen.add(`${row.user_id}\n${row.environment_id}`);
  const applied = owned.filter(({ owner }) => !chosen.has(owner.join('\n')));
  if (applied.length < owned.length) changes[keptChoices] = (changes[keptChoices] ?? 0) + owned.length - applied.length;
  const sections = { flow_id: 'flows', integration_id: 'integrations', connection_id: 'connections' } as const;
  const subscriptionOwner: OwnerColumns = [['user_id', 'bigint'], ['environment_id', 'text']];
  for (const [column, section] of Object.entries(sections)) {
    await replaceSets(trx, changes, 'subscriptions', subscriptionOwner, column, applied.map(({ s, owner }) => ({ owner, values: s[section] ?? [] })));
  }
  // Rhythms (S41), where the catalog gives one, unless the user chose theirs on the settings page.
  for (const { s, owner } of owned) {
    if (s.rhythm === undefined) continue;
    const [userId, environment] = owner as [string, string];
    const own = await trx('digest_rhythms').where({ user_id: userId, environment_id: environment, chosen_on_page: true }).first('user_id');
    if (own) changes[keptRhythms] = (changes[keptRhythms] ?? 0) + 1;
    else if (await saveRhythmIn(trx, Number(userId), environment, s.rhythm ?? everyCycle, false)) changes.digest_rhythms = (changes.digest_rhythms ?? 0) + 1;
  }
  // Weekly reviews (S47) likewise.
  for (const { s, owner } of owned) {
    if (s.weeklyReview === undefined) continue;
    const [userId, environment] = owner as [string, string];
    const own = await trx('weekly_reviews').where({ user_id: userId, environment_id: environment, chosen_on_page: true }).first('user_id');
    if (own) changes[keptWeeklyReviews] = (changes[keptWeeklyReviews] ?? 0) + 1;
    else if (await saveWeeklyReviewIn(trx, Number(userId), environment, s.weeklyReview, false)) changes.weekly_reviews = (changes.weekly_reviews ?? 0) + 1;
  }
  return changes;
}

/** Lists cut to a size PostgreSQL takes as parameters of one statement. */
function chunks<T>(items: T[], size = 1_000): T[][] {
  const cut: T[][] = [];
  for (let i = 0; i < items.length; i += size) cut.push(items.slice(i, i + size));
  return cut;
}

/** How the changes count rhythms a catalog left as the user chose them in their settings (S41). */
export const keptRhythms = 'rhythms kept as chosen in settings';

/** How the changes count weekly reviews a catalog left as the user chose them in their settings (S47). */
export const keptWeeklyReviews = 'weekly reviews kept as chosen in settings';

/** How the changes count targets of subscriptions a catalog left as the user chose them in their settings (S43). */
export const keptTargets = 'targets kept as chosen in settings';

/**
 * The catalog's channels of each account (S43), made or changed (a URL under the address policy,
 * a kind never changed, a webhook's secret the platform's), and the targets of its subscriptions;
 * every problem refused at its path, with nothing written.
 */
async function writeChannels(trx: Knex.Transaction, catalog: Catalog, changes: CatalogChanges, policy: ChannelAddressPolicy): Promise<void> {
  const problems: InputProblem[] = [];
  const channels = catalog.channels ?? [];
  const seen = new Set<string>();
  for (const [i, c] of channels.entries()) {
    const at = `channels[${i}]`;
    const key = `${c.account}\n${c.name}`;
    if (seen.has(key)) problems.push({ field: at, message: `repeats channel "${c.name}" of account "${c.account}"` });
    seen.add(key);
    if (!(await trx('accounts').where({ id: c.account }).first('id'))) problems.push({ field: `${at}.account`, message: `unknown account "${c.account}"` });
    const urlProblem = channelUrlProblem(c.url, policy);
    if (urlProblem) problems.push({ field: `${at}.url`, message: urlProblem });
    const stored = await trx('channels').where({ account_id: c.account, name: c.name }).whereNull('removed_at').first('id', 'kind', 'url', 'secret');
    if (stored && stored.kind !== c.kind) problems.push({ field: `${at}.kind`, message: `channel "${c.name}" is a ${stored.kind} channel` });
    const secretProblem = channelSecretProblem(c.kind, c.secret, { isNew: !stored, from: 'catalog' });
    if (secretProblem) problems.push({ field: `${at}.secret`, message: secretProblem });
    if (problems.length > 0) continue;
    const row = { url: c.url, ...(c.secret && { secret: c.secret }) };
    let changed = true;
    let channelId: number;
    if (!stored) channelId = Number((await trx('channels').insert({ account_id: c.account, name: c.name, kind: c.kind, ...row }).returning('id'))[0].id);
    else {
      channelId = Number(stored.id);
      if (stored.url === row.url && (row.secret === undefined || row.secret === stored.secret)) changed = false;
      else await trx('channels').where({ id: stored.id }).update(row);
    }
    if (await setChannelRhythm(trx, channelId, c.rhythm ?? null)) changed = true;
    if (changed) changes.channels = (changes.channels ?? 0) + 1;
  }
  for (const [i, s] of (catalog.subscriptions ?? []).entries()) {
    if (s.target === undefined || problems.length > 0) continue;
    const user = await trx('users as u')
      .join('environments as e', 'e.account_id', 'u.account_id')
      .where({ 'u.email': s.user.toLowerCase(), 'e.id': s.environment })
      .first('u.id', 'u.account_id');
    if (!user) continue;
    const store = createChannelStore(trx);
    if ((await store.target(Number(user.id), s.environment)).chosenOnPage) {
      changes[keptTargets] = (changes[keptTargets] ?? 0) + 1;
      continue;
    }
    const saved = await store.setTarget(trx, Number(user.id), user.account_id, s.environment, s.target ?? emailOnly);
    if (saved.unknownChannel) problems.push({ field: `subscriptions[${i}].target.channel`, message: `no channel "${saved.unknownChannel}" in this account` });
    else if (saved.changed) changes.subscription_targets = (changes.subscription_targets ?? 0) + 1;
  }
  if (problems.length > 0) throw new CatalogError(problems);
}



/** How the changes count subscriptions a catalog left as the user chose them in their settings. */
export const keptChoices = 'subscriptions kept as chosen in settings';

/** Counts of what a catalog left as people chose it: not changes. */
const keptCounts: string[] = [keptChoices, keptRhythms, keptWeeklyReviews, keptTargets];

/** Columns that own a set, each with its PostgreSQL type (statements take them as arrays). */
type OwnerColumns = [string, 'bigint' | 'text'][];

/**
 * Makes each owner's set of `column` values what the catalog says: one statement reads every
 * owner's current set, one adds what is missing, one removes what is no longer wanted, whatever
 * the number of owners (rows go as one array per column: no statement grows with its rows).
 */
async function replaceSets(
  trx: Knex.Transaction,
  changes: CatalogChanges,
  table: string,
  owners: OwnerColumns,
  column: string,
  sets: { owner: string[]; values: string[] }[],
): Promise<void> {
  if (sets.length === 0) return;
  const ownerNames = owners.map(([name]) => name);
  const arrays = (types: string[]) => types.map((type) => `?::${type}[]`).join(', ');
  const key = (owner: unknown[], value: unknown) => [...owner.map(String), String(value)].join('\n');
  const { rows } = await trx.raw(
    `select ${[...ownerNames, column].map((c) => `t.${c}`).join(', ')}
       from ${table} t join unnest(${arrays(owners.map(([, type]) => type))}) as o(${ownerNames.join(', ')}) using (${ownerNames.join(', ')})
      where t.${column} is not null`,
    columnsOf(sets.map((set) => set.owner), owners.length),
  );
  const existing = new Map<string, string[]>(rows.map((row: Record<string, unknown>) => [key(ownerNames.map((c) => row[c]), row[column]), [...ownerNames, column].map((c) => String(row[c]))]));
  const wanted = new Set(sets.flatMap((set) => set.values.map((value) => key(set.owner, value))));
  const added = sets.flatMap((set) => [...new Set(set.values)].filter((value) => !existing.has(key(set.owner, value))).map((value) => [...set.owner, value]));
  const removed = [...existing].filter(([k]) => !wanted.has(k)).map(([, row]) => row);
  const types = [...owners.map(([, type]) => type), 'text'];
  const all = [...ownerNames, column];
  if (added.length > 0) {
    await trx.raw(`insert into ${table} (${all.join(', ')}) select * from unnest(${arrays(types)})`, columnsOf(added, all.length));
  }
  if (removed.length > 0) {
    await trx.raw(
      `delete from ${table} t using unnest(${arrays(types)}) as d(${all.join(', ')}) where ${all.map((c) => `t.${c} = d.${c}`).join(' and ')}`,
      columnsOf(removed, all.length),
    );
  }
  changes[table] = (changes[table] ?? 0) + added.length + removed.length;
}

/** Rows (arrays of `width` values) turned into one array per column, for `unnest`. */
function columnsOf(rows: string[][], width: number): string[][] {
  return Array.from({ length: width }, (_, i) => rows.map((row) => row[i]!));
}
