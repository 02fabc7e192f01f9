/**
 * The platform's entities, one at a time (S40): each kind of the catalog put by the platform's own
 * id, read, listed and (users, subscriptions) removed. A put is the catalog applied to one entry,
 * so the rules, the ownership (S36) and the named problems are the catalog's; each runs in one
 * transaction under the catalog's lock, where its `If-Match` is checked and its change recorded.
 */
import type { Knex } from 'knex';
import type { ChannelAddressPolicy } from '../contracts/channel-url.js';
import { createHash } from 'node:crypto';
import type { z } from 'zod';
import {
  catalogConnectionSchema,
  catalogEnvironmentSchema,
  catalogFlowSchema,
  catalogIntegrationSchema,
  catalogSubscriptionSchema,
  catalogUserSchema,
  type Catalog,
} from '../contracts/catalog.js';
import { InputRefusedError } from '../contracts/problems.js';
import { applyCatalog, lockCatalog, type CatalogChanges } from '../catalog/catalog.js';
import { createSettingsStore, saveRhythmIn } from '../stores/settings-store.js';
import { everyCycle, type Rhythm } from '../contracts/rhythm.js';
import type { WeeklyReview } from '../contracts/weekly-review.js';
import { createWeeklyReviewStore, saveWeeklyReviewIn } from '../stores/weekly-review-store.js';
import { CatalogError } from '../catalog/catalog-error.js';
import { recordAudit } from '../stores/audit-store.js';

/** The kinds with an id of the platform's, one per installation (users and subscriptions are keyed within an account). */
export const entityKinds = ['environments', 'integrations', 'connections', 'flows', 'users'] as const;
export type EntityKind = (typeof entityKinds)[number];

/** What a put of each kind takes: the catalog entry without its id and account, which the URL and the token give. */
export const entityBodies = {
  environments: catalogEnvironmentSchema.omit({ id: true, account: true }),
  integrations: catalogIntegrationSchema.omit({ id: true }),
  connections: catalogConnectionSchema.omit({ id: true }),
  flows: catalogFlowSchema.omit({ id: true }),
  users: catalogUserSchema.omit({ account: true, email: true, removed: true }),
} as const;
export const subscriptionsBody = catalogSubscriptionSchema.omit({ environment: true, user: true });

export type EntityView = Record<string, unknown>;

/** A row as PostgreSQL answers it. */
type Row = Record<string, unknown>;

/** Who made a change, as the audit records it: "token 12 (billing platform)", "ops@acme.example". */
export type Actor = string;

/** A change that collides with what is there: the API answers 409. */
export class EntityConflict extends Error {}
/** The entity at this id is another account's: it is not moved (S36). */
export class EntityTaken extends EntityConflict {}
/** The `If-Match` of a change names a version that is no longer the entity's. */
export class EntityChanged extends Error {}
/** An environment that integrations or connections still live in is not removed. */
export class EntityInUse extends EntityConflict {}
/** A user chose their own subscriptions on the settings page (S24): the platform's do not replace them. */
export class ChosenByUser extends EntityConflict {}
/** Refused: each problem at its field of the request's body. */
export class EntityRefused extends InputRefusedError {
  override readonly name = 'EntityRefused';
}

/** An entity's version: the hash of what it reads as. The same put twice leaves the same version. */
export const versionOf = (view: EntityView) => `"${createHash('sha256').update(JSON.stringify(view)).digest('base64url').slice(0, 27)}"`;

/** One entity of the account as it reads (what a put of it takes, with its id), or undefined. */
export async function readEntity(db: Knex, account: string, kind: EntityKind, id: string): Promise<EntityView | undefined> {
  return (await listEntities(db, account, kind, { only: id, limit: 1 }))[0];
}

/** The account's entities of a kind, by id (users by address), from after `after`. */
export async function listEntities(
  db: Knex,
  account: string,
  kind: EntityKind,
  page: { after?: string; limit: number; only?: string },
): Promise<EntityView[]> {
  /** The page's rows of `query`, keyed by `column`. */
  const keyed = async (query: Knex.QueryBuilder, column: string, ...columns: (string | Knex.Raw)[]): Promise<Row[]> => {
    if (page.only !== undefined) query.where(column, kind === 'users' ? page.only.toLowerCase() : page.only);
    if (page.after !== undefined) query.where(column, '>', page.after);
    return query.orderBy(column).limit(page.limit).select(...columns);
  };
  switch (kind) {
    case 'environments':
      return (await keyed(db('environments').where({ account_id: account }), 'id', 'id', 'name', 'production', 'remind_after_ms', 'removed_at')).map((row) => ({
        id: row.id as string,
        name: row.name as string,
        production: row.production as boolean,
        remindAfterMs: Number(row.remind_after_ms),
        removed: row.removed_at !== null,
      }));
    case 'integrations':
    case 'connections':
      return (await keyed(db(kind).where({ account_id: account }), 'id', 'id', 'name', 'resource_group', 'removed_at')).map((row) => ({
        id: row.id as string,
        environment: row.resource_group as string,
        name: row.name as string,
        removed: row.removed_at !== null,
      }));
    case 'flows': {
      const rows = await keyed(
        db('flows as f').join('integrations as i', 'i.id', 'f.integration_id').where('i.account_id', account),
        'f.id',
        'f.id', 'f.name', 'f.integration_id', 'f.auto_resolve', 'f.task_queue', 'f.removed_at',
        db.raw(`coalesce((select array_agg(fc.connection_id order by fc.connection_id) from flow_connections fc where fc.flow_id = f.id), '{}') as connections`),
      );
      return rows.map((row) => ({
        id: row.id as string,
        integration: row.integration_id as string,
        name: row.name as string,
        autoResolve: row.auto_resolve as boolean,
        taskQueue: row.task_queue as string | null,
        connections: row.connections as string[],
        removed: row.removed_at !== null,
      }));
    }
    case 'users':
      return (await keyed(db('users').where({ account_id: account }), 'email', 'email', 'name', 'role', 'removed_at')).map((row) => ({
        email: row.email as string,
        name: row.name as string | null,
        role: row.role as string,
        removed: row.removed_at !== null,
      }));
  }
}

/** A user's subscriptions in an environment of the account, or undefined when either is not the account's. */
export async function readSubscriptions(db: Knex, account: string, environment: string, email: string): Promise<EntityView | undefined> {
  const user = await db('users').where({ account_id: account, email: email.toLowerCase() }).first('id', 'email');
  const env = await db('environments').where({ account_id: account, id: environment }).first('id');
  if (!user || !env) return undefined;
  const { flows, integrations, connections, chosenAt } = await createSettingsStore(db).subscriptions(Number(user.id), environment);
  return { environment, user: user.email, flows, integrations, connections, chosenByUser: chosenAt !== null };
}

export interface PutResult {
  entity: EntityView;
  /** True when the entity did not exist before. */
  created: boolean;
  /** True when something changed (false for the same put again). */
  changed: boolean;
}

/**
 * Puts one entity of the account by its id: creates it or makes it read as `body` says. `ifMatch`,
 * when given, must be the entity's version (`*`: any existing one).
 */
export async function putEntity(
  db: Knex,
  change: { actor: Actor; account: string; kind: EntityKind; id: string; body: Record<string, unknown>; ifMatch?: string },
): Promise<PutResult> {
  const { account, kind, id } = change;
  return db.transaction(async (trx) => {
    await lockCatalog(trx);
    const before = await readEntity(trx, account, kind, id);
    checkVersion(before, change.ifMatch);
    if (!before && kind !== 'users' && (await trx(kind).where({ id }).first('id'))) throw new EntityTaken(`${kind.slice(0, -1)} "${id}" is another account's`);
    const entry = kind === 'users' ? { ...change.body, account, email: id } : kind === 'environments' ? { ...change.body, id, account } : { ...change.body, id };
    await applyEntry(trx, { [kind]: [entry] } as Catalog, kind);
    const after = await readEntity(trx, account, kind, id);
    if (!after) {
      // The catalog placed it under what it names, which is another account's: not for this one (the transaction is undone).
      const field = kind === 'flows' ? 'integration' : 'environment';
      throw new EntityRefused([{ field, message: `unknown ${field} "${String(change.body[field])}"` }]);
    }
    const changed = !before || versionOf(before) !== versionOf(after);
    if (changed) await audit(trx, change.actor, account, before ? 'changed' : 'created', kind, kind === 'users' ? id.toLowerCase() : id, after);
    return { entity: after, created: !before, changed };
  });
}

/**
 * Removes an environment, integration, connection or flow of the account: it takes no more reports
 * and no subscriptions (those to it end); its errors, changes and emails stay readable. An
 * integration takes its flows with it; an environment goes only once nothing is placed in it (its
 * integrations and connections removed first), unless it shares them with another. Undefined when
 * the account has no such entity.
 */
export async function removeEntity(
  db: Knex,
  change: { actor: Actor; account: string; kind: Exclude<EntityKind, 'users'>; id: string; ifMatch?: string },
): Promise<EntityView | undefined> {
  const { account, kind, id } = change;
  return db.transaction(async (trx) => {
    await lockCatalog(trx);
    const before = await readEntity(trx, account, kind, id);
    if (!before) return undefined;
    checkVersion(before, change.ifMatch);
    if (before.removed) return before;
    const now = trx.fn.now();
    if (kind === 'environments') {
      const env = await trx('environments').where({ id }).first('resource_group');
      const others = await trx('environments').where({ resource_group: env.resource_group }).whereNot({ id }).whereNull('removed_at').first('id');
      const placed = others ? undefined : (await trx('integrations').where({ resource_group: env.resource_group }).whereNull('removed_at').first('id')) ?? (await trx('connections').where({ resource_group: env.resource_group }).whereNull('removed_at').first('id'));
      if (placed) throw new EntityInUse(`environment "${id}" still has integrations or connections ("${placed.id}"): remove them first`);
      await trx('subscriptions').where({ environment_id: id }).delete();
      await trx('subscription_choices').where({ environment_id: id }).delete();
      await trx('digest_rhythms').where({ environment_id: id }).delete();
      await trx('weekly_reviews').where({ environment_id: id }).delete();
    } else if (kind === 'integrations') {
      const flows = trx('flows').where({ integration_id: id }).select('id');
      await trx('subscriptions').where({ integration_id: id }).orWhereIn('flow_id', flows).delete();
      await trx('flows').where({ integration_id: id }).whereNull('removed_at').update({ removed_at: now });
    } else {
      await trx('subscriptions').where(kind === 'flows' ? { flow_id: id } : { connection_id: id }).delete();
    }
    await trx(kind).where({ id }).update({ removed_at: now });
    const after = (await readEntity(trx, account, kind, id))!;
    await audit(trx, change.actor, account, 'removed', kind, id, after);
    return after;
  });
}

/**
 * Removes a user from the account (S38): their pending emails are cancelled, their sessions end,
 * and they are listed as removed. Undefined when the account has no such user.
 */
export async function removeUser(db: Knex, change: { actor: Actor; account: string; email: string; ifMatch?: string }): Promise<EntityView | undefined> {
  return db.transaction(async (trx) => {
    await lockCatalog(trx);
    const before = await readEntity(trx, change.account, 'users', change.email);
    if (!before) return undefined;
    checkVersion(before, change.ifMatch);
    if (before.removed) return before;
    await applyEntry(trx, { users: [{ account: change.account, email: change.email, name: before.name as string | null, role: before.role as never, removed: true }] }, 'users');
    const user = await trx('users').where({ account_id: change.account, email: change.email.toLowerCase() }).first('id');
    await endMemberships(trx, [String(user.id)]);
    const after = (await readEntity(trx, change.account, 'users', change.email))!;
    await audit(trx, change.actor, change.account, 'removed', 'users', change.email, after);
    return after;
  });
}

/** Sets a user's subscriptions in an environment of the account: exactly these flows, integrations and connections. */
export async function putSubscriptions(
  db: Knex,
  change: { actor: Actor; account: string; environment: string; email: string; body: z.output<typeof subscriptionsBody>; ifMatch?: string },
): Promise<PutResult | undefined> {
  return db.transaction(async (trx) => {
    await lockCatalog(trx);
    const before = await readSubscriptions(trx, change.account, change.environment, change.email);
    if (!before) return undefined;
    checkVersion(before, change.ifMatch);
    if (before.chosenByUser) throw new ChosenByUser(`${change.email} chose their own subscriptions in ${change.environment} on the settings page: they stand`);
    await applyEntry(trx, { subscriptions: [{ ...change.body, environment: change.environment, user: change.email }] }, 'subscriptions');
    const after = (await readSubscriptions(trx, change.account, change.environment, change.email))!;
    const changed = versionOf(before) !== versionOf(after);
    if (changed) await audit(trx, change.actor, change.account, 'changed', 'subscriptions', `${change.environment}/${change.email.toLowerCase()}`, after);
    return { entity: after, created: false, changed };
  });
}

/** A user's digest rhythm in an environment of the account (S41), or undefined when either is not the account's. */
export async function readRhythm(db: Knex, account: string, environment: string, email: string): Promise<EntityView | undefined> {
  const user = await db('users').where({ account_id: account, email: email.toLowerCase() }).first('id', 'email');
  const env = await db('environments').where({ account_id: account, id: environment }).first('id');
  if (!user || !env) return undefined;
  const { rhythm, chosenOnPage } = await createSettingsStore(db).rhythm(Number(user.id), environment);
  return { environment, user: user.email, ...rhythm, chosenByUser: chosenOnPage };
}

/** Sets a user's digest rhythm in an environment of the account (`null`: every cycle); a rhythm the user chose on the settings page stands. */
export async function putRhythm(
  db: Knex,
  change: { actor: Actor; account: string; environment: string; email: string; body: Rhythm | null; ifMatch?: string },
): Promise<PutResult | undefined> {
  return db.transaction(async (trx) => {
    await lockCatalog(trx);
    const before = await readRhythm(trx, change.account, change.environment, change.email);
    if (!before) return undefined;
    checkVersion(before, change.ifMatch);
    if (before.chosenByUser) throw new ChosenByUser(`${change.email} chose when their digests come in ${change.environment} on the settings page: it stands`);
    const user = await trx('users').where({ account_id: change.account, email: change.email.toLowerCase() }).first('id');
    const changed = await saveRhythmIn(trx, Number(user.id), change.environment, change.body ?? everyCycle, false);
    const after = (await readRhythm(trx, change.account, change.environment, change.email))!;
    if (changed) await audit(trx, change.actor, change.account, 'changed', 'rhythm', `${change.environment}/${change.email.toLowerCase()}`, after);
    return { entity: after, created: false, changed };
  });
}

/** A user's weekly review of an environment of the account (S47), or undefined when either is not the account's. */
export async function readWeeklyReview(db: Knex, account: string, environment: string, email: string): Promise<EntityView | undefined> {
  const user = await db('users').where({ account_id: account, email: email.toLowerCase() }).whereNull('removed_at').first('id', 'email');
  const env = await db('environments').where({ account_id: account, id: environment }).first('id');
  if (!user || !env) return undefined;
  const { review, timeZone, chosenOnPage } = await createWeeklyReviewStore(db).setting(Number(user.id), environment);
  return { environment, user: user.email, ...review, timeZone, chosenByUser: chosenOnPage };
}

/** Sets a user's weekly review of an environment of the account (`null`: their role's default); one the user chose on the settings page stands. */
export async function putWeeklyReview(
  db: Knex,
  change: { actor: Actor; account: string; environment: string; email: string; body: WeeklyReview | null; ifMatch?: string },
): Promise<PutResult | undefined> {
  return db.transaction(async (trx) => {
    await lockCatalog(trx);
    const before = await readWeeklyReview(trx, change.account, change.environment, change.email);
    if (!before) return undefined;
    checkVersion(before, change.ifMatch);
    if (before.chosenByUser) throw new ChosenByUser(`${change.email} chose their weekly review of ${change.environment} on the settings page: it stands`);
    const user = await trx('users').where({ account_id: change.account, email: change.email.toLowerCase() }).whereNull('removed_at').first('id');
    await saveWeeklyReviewIn(trx, Number(user.id), change.environment, change.body, false);
    const after = (await readWeeklyReview(trx, change.account, change.environment, change.email))!;
    const changed = versionOf(after) !== versionOf(before);
    if (changed) await audit(trx, change.actor, change.account, 'changed', 'weekly review', `${change.environment}/${change.email.toLowerCase()}`, after);
    return { entity: after, created: false, changed };
  });
}

function checkVersion(current: EntityView | undefined, ifMatch: string | undefined): void {
  if (ifMatch === undefined) return;
  if (ifMatch === '*' ? !current : !current || ifMatch.split(',').every((tag) => tag.trim() !== versionOf(current))) {
    throw new EntityChanged('the entity is no longer the version the request names (If-Match): read it again');
  }
}

/**
 * Applies a catalog for a request; its problems are refused as the request's: with `section`, a
 * one-entry catalog's at the fields of the request's body (`role`, not `users[0].role`). Answers
 * what it changed.
 */
export async function applyEntry(db: Knex, catalog: Catalog, section?: string, channelPolicy?: ChannelAddressPolicy): Promise<CatalogChanges> {
  try {
    return await applyCatalog(db, catalog, { refreshStatistics: false, channelPolicy });
  } catch (error) {
    if (!(error instanceof CatalogError)) throw error;
    if (section === undefined) throw new EntityRefused(error.problems);
    const prefix = `${section}[0]`;
    throw new EntityRefused(error.problems.map((p) => ({ ...p, field: p.field.startsWith(`${prefix}.`) ? p.field.slice(prefix.length + 1) : p.field === prefix ? '(body)' : p.field })));
  }
}

/** The users' part in their account ends (S38): their pending emails are cancelled and their sessions end. */
export async function endMemberships(trx: Knex.Transaction, userIds: string[]): Promise<void> {
  if (userIds.length === 0) return;
  await trx('notifications').whereIn('user_id', userIds).where({ status: 'pending' }).update({ status: 'cancelled', last_error: 'not sent: the user left the account' });
  await trx('sessions').whereRaw(`(data::jsonb ->> 'personId') = any(?)`, [userIds]).delete();
}

const audit = (trx: Knex.Transaction, actor: Actor, account: string, action: string, kind: string, entity: string, detail: EntityView) =>
  recordAudit(trx, { account, actor, action, kind, entity, detail });
