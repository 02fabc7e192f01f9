/**
 * The platform's side of the API (S40): environments, integrations, connections, flows, users and
 * a user's subscriptions per environment, put by the platform's own id (an idempotent upsert),
 * read, listed a page at a time, and removed (users, subscriptions). Every answer carries the
 * entity's version as its ETag; a change with a stale If-Match is refused (412). Every change is
 * recorded with the token that made it (`GET /audit`).
 */
import { z } from 'zod';
import type { Knex } from 'knex';
import { everyCycle, rhythmSchema } from '../contracts/rhythm.js';
import { weeklyReviewSchema } from '../contracts/weekly-review.js';
import { entityId } from '../contracts/error-report.js';
import { plainAddressMessage, isPlainAddress } from '../contracts/email-address.js';
import {
  entityBodies,
  listEntities,
  removeEntity,
  putEntity,
  putSubscriptions,
  putRhythm,
  putWeeklyReview,
  readWeeklyReview,
  type EntityView,
  type PutResult,
  readRhythm,
  readEntity,
  readSubscriptions,
  removeUser,
  subscriptionsBody,
  versionOf,
  type EntityKind,
} from '../admin/entities.js';
import { syncAccount } from '../admin/sync.js';
import { auditTrail } from '../stores/audit-store.js';
import { apiPrefix, NotFound, newestFirstPage, newestFirstQuery, pageSize, route, Versioned, type ApiRoute } from './api-route.js';

const email = z.string({ error: plainAddressMessage }).refine(isPlainAddress, { error: plainAddressMessage });
const pageQuery = (key: z.ZodType<string>) =>
  z.strictObject({
    after: key.optional(),
    limit: z.coerce.number({ error: 'must be a whole number from 1 to 500' }).int({ error: 'must be a whole number from 1 to 500' }).min(1).max(500).optional(),
  });

const singular = (kind: EntityKind) => kind.slice(0, -1);

/** An entity answered with its version, or not found. */
function found(entity: Record<string, unknown> | undefined, missing: string): Versioned {
  if (!entity) throw new NotFound(missing);
  return new Versioned(entity, versionOf(entity));
}

/** The routes of one kind: put, get, list. */
function kindRoutes(kind: EntityKind): ApiRoute[] {
  const key = kind === 'users' ? 'email' : 'id';
  const keySchema = kind === 'users' ? email : entityId;
  const params = z.strictObject({ [key]: keySchema }) as z.ZodType<Record<string, string>>;
  const answer = (entity: Record<string, unknown>, status = 200) => new Versioned(entity, versionOf(entity), status);
  return [
    route({
      method: 'PUT',
      url: `/${kind}/:${key}`,
      summary: `Create or change a ${singular(kind)} of the account by its ${key === 'id' ? 'id (the platform\'s)' : 'address'}: the same body twice changes nothing and answers the same.`,
      scope: 'manage',
      params,
      body: entityBodies[kind] as z.ZodType<Record<string, unknown>>,
      answers: `the ${singular(kind)} as it now reads, its version as ETag; 201 when created`,
      async handle({ account, actor, params: p, body, ifMatch }, { db, digestsInStep }) {
        const { entity, created } = await putEntity(db, { actor, account, kind, id: p[key]!, body, ifMatch });
        // A new (or brought back) environment's digest starts with it; its put is answered once Temporal has it.
        if (kind === 'environments') await digestsInStep?.();
        return answer(entity, created ? 201 : 200);
      },
    }),
    route({
      method: 'GET',
      url: `/${kind}/:${key}`,
      summary: `One ${singular(kind)} of the account.`,
      scope: 'read',
      params,
      answers: `the ${singular(kind)}, its version as ETag`,
      async handle({ account, params: p }, { db }) {
        return found(await readEntity(db, account, kind, p[key]!), `no ${singular(kind)} "${p[key]}"`);
      },
    }),
    route({
      method: 'GET',
      url: `/${kind}`,
      summary: `The account's ${kind}, by ${key}; \`next\` is the link to the following page (keyset pagination).`,
      scope: 'read',
      query: pageQuery(keySchema),
      answers: `{ ${kind}: [...], next?: "${apiPrefix}/${kind}?after=…" }`,
      async handle({ account, query }, { db }) {
        const limit = pageSize(query);
        const entities = await listEntities(db, account, kind, { after: query.after, limit });
        const last = entities.at(-1);
        return { [kind]: entities, ...(entities.length === limit && last && { next: `${apiPrefix}/${kind}?${new URLSearchParams({ after: String(last[key]), limit: String(limit) })}` }) };
      },
    }),
  ];
}

export const subscriptionParams = z.strictObject({ environment: entityId, email });
/** A user of the account, by address. */
export const userParams = z.strictObject({ email });

export const entityRoutes: ApiRoute[] = [
  ...(['environments', 'integrations', 'connections', 'flows', 'users'] as const).flatMap(kindRoutes),
  ...(['environments', 'integrations', 'connections', 'flows'] as const).map((kind) =>
    route({
      method: 'DELETE',
      url: `/${kind}/:id`,
      summary: `Remove a ${singular(kind)} of the account: it takes no more ${kind === 'connections' ? 'status reports' : 'reports'} and no subscriptions (those to it end); what it holds stays readable in the pages. ${
        kind === 'integrations' ? 'Its flows go with it. ' : kind === 'environments' ? 'Only once its integrations and connections are removed (409 before). ' : ''
      }A put brings it back.`,
      scope: 'manage',
      params: z.strictObject({ id: entityId }),
      answers: `the ${singular(kind)} as now listed (removed), its version as ETag`,
      async handle({ account, actor, params, ifMatch }, { db, digestsInStep }) {
        const removed = await removeEntity(db, { actor, account, kind, id: params.id, ifMatch });
        // A removed environment's digest ends with it.
        if (removed && kind === 'environments') await digestsInStep?.();
        return found(removed, `no ${singular(kind)} "${params.id}"`);
      },
    }),
  ),
  route({
    method: 'DELETE',
    url: '/users/:email',
    summary: 'Remove a user from the account (S38): their pending emails are cancelled and their sessions end; they stay listed as removed. A put brings them back.',
    scope: 'manage',
    params: z.strictObject({ email }),
    answers: 'the user as now listed (removed), its version as ETag',
    async handle({ account, actor, params, ifMatch }, { db }) {
      return found(await removeUser(db, { actor, account, email: params.email, ifMatch }), `no user "${params.email}"`);
    },
  }),
  ...userSettingRoutes({
    path: 'subscriptions',
    body: subscriptionsBody,
    cleared: {},
    put: putSubscriptions,
    read: readSubscriptions,
    summaries: {
      put: "Set a user's subscriptions in an environment: exactly these flows, integrations and connections (S16). A user who chose their own on the settings page keeps them (409).",
      get: "A user's subscriptions in an environment.",
      delete: "End all of a user's subscriptions in an environment.",
    },
    answers: { what: 'the subscriptions', its: 'their', cleared: 'the subscriptions as they now read (none)' },
  }),
  ...userSettingRoutes({
    path: 'rhythms',
    body: rhythmSchema,
    cleared: everyCycle,
    put: putRhythm,
    read: readRhythm,
    summaries: {
      put: "Set when a user's digests come in an environment (S41): every cycle, hourly, or daily at a time of their IANA time zone, with optional quiet hours. A user who chose theirs on the settings page keeps it (409).",
      get: "When a user's digests come in an environment (every cycle unless set).",
      delete: "Back to every cycle, without quiet hours, for a user's digests in an environment.",
    },
    answers: { what: 'the rhythm', its: 'its', cleared: 'the rhythm as it now reads (every cycle)' },
  }),
  ...userSettingRoutes({
    path: 'weekly-reviews',
    body: weeklyReviewSchema.nullable(),
    cleared: null,
    put: putWeeklyReview,
    read: readWeeklyReview,
    summaries: {
      put: "Set a user's weekly review of an environment (S47): on or off, and its day and time in the time zone of their digests; null for their role's default (owners and admins on Mondays at 08:00). A user who chose theirs on the settings page keeps it (409).",
      get: "A user's weekly review of an environment, and the time zone it comes in (their role's default unless set).",
      delete: "Back to the role's default for a user's weekly review of an environment: on for owners and admins, Mondays at 08:00.",
    },
    answers: { what: 'the weekly review', its: 'its', cleared: "the weekly review as it now reads (the role's default)" },
  }),
  route({
    method: 'PUT',
    url: '/catalog',
    summary:
      "Make the account match its whole catalog (the catalog file's format, as JSON, without accounts): entries put, users not listed removed, subscriptions not listed ended (a user's own choice stands); environments, integrations, connections and flows not listed are kept. `?dryRun=true` answers the same and changes nothing.",
    scope: 'manage',
    query: z.strictObject({ dryRun: z.enum(['true', 'false'], { error: 'must be true or false' }).optional() }),
    body: z.record(z.string(), z.unknown(), { error: 'must be an object with sections such as "users" and "flows"' }),
    answers: '{ dryRun, created, changed, removed, kept, keptAsChosen }: counts by kind',
    // One transaction over the whole account: 60,000 rows take seconds, on a busy database more.
    deadlineMs: 5 * 60_000,
    async handle({ account, actor, query, body }, { db, digestsInStep, channelPolicy }) {
      const result = await syncAccount(db, { actor, account, catalog: body, dryRun: query.dryRun === 'true', channelPolicy });
      if (!result.dryRun && result.created.environments > 0) await digestsInStep?.();
      return result;
    },
  }),
  route({
    method: 'GET',
    url: '/audit',
    summary: "The account's recorded changes, newest first: who (which token), what, when; `next` is the following page.",
    scope: 'read',
    query: newestFirstQuery,
    answers: '{ events: [{ id, at, actor, action, kind, entity, detail }], next? }',
    async handle({ account, query }, { db }) {
      const limit = pageSize(query);
      return newestFirstPage('events', await auditTrail(db, account, { before: query.before, limit }), '/audit', limit);
    },
  }),
];

/**
 * The three routes of one of a user's settings in an environment (what they follow, when their
 * digests come): put, read, and back to the setting's `cleared` value. A user's own choice on the
 * settings page stands (409, from `put`).
 */
function userSettingRoutes<B>(setting: {
  path: string;
  body: z.ZodType<B>;
  cleared: NoInfer<B>;
  put: (db: Knex, change: { actor: string; account: string; environment: string; email: string; body: B; ifMatch?: string }) => Promise<PutResult | undefined>;
  read: (db: Knex, account: string, environment: string, email: string) => Promise<EntityView | undefined>;
  summaries: { put: string; get: string; delete: string };
  answers: { what: string; its: string; cleared: string };
}): ApiRoute[] {
  const url = `/environments/:environment/${setting.path}/:email`;
  const missing = (params: { environment: string; email: string }) => `no user "${params.email}" or environment "${params.environment}"`;
  return [
    route({
      method: 'PUT',
      url,
      summary: setting.summaries.put,
      scope: 'manage',
      params: subscriptionParams,
      body: setting.body,
      answers: `${setting.answers.what} as ${setting.answers.its === 'its' ? 'it now reads' : 'they now read'}, ${setting.answers.its} version as ETag`,
      async handle({ account, actor, params, body, ifMatch }, { db }) {
        const result = await setting.put(db, { actor, account, environment: params.environment, email: params.email, body, ifMatch });
        return found(result?.entity, missing(params));
      },
    }),
    route({
      method: 'GET',
      url,
      summary: setting.summaries.get,
      scope: 'read',
      params: subscriptionParams,
      answers: `${setting.answers.what}, ${setting.answers.its} version as ETag`,
      async handle({ account, params }, { db }) {
        return found(await setting.read(db, account, params.environment, params.email), missing(params));
      },
    }),
    route({
      method: 'DELETE',
      url,
      summary: setting.summaries.delete,
      scope: 'manage',
      params: subscriptionParams,
      answers: `${setting.answers.cleared}, ${setting.answers.its} version as ETag`,
      async handle({ account, actor, params, ifMatch }, { db }) {
        const result = await setting.put(db, { actor, account, environment: params.environment, email: params.email, body: setting.cleared, ifMatch });
        return found(result?.entity, missing(params));
      },
    }),
  ];
}
