/**
 * The HTTP JSON API (S29) under `/api/v1`: what the client does, for flows in any language.
 * Requests carry an account API token (`Authorization: Bearer …`) and reach that account only
 * (S23): anything of another account answers 404, as if it did not exist. Bodies and queries are
 * checked by the schemas the client uses, and refused with the same named problems (400). Writes
 * go through the same workflows as the client (a snooze, which sends nothing, is one transaction of
 * its store). The routes are one table; @fastify/swagger makes
 * the OpenAPI document from the JSON Schema of the same zod schemas.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import type { Knex } from 'knex';
import { createHash } from 'node:crypto';
import { z } from 'zod';
import {
  assignRequestSchema,
  connectionReportSchema,
  entityId,
  errorListQuerySchema,
  errorReportRequestSchema,
  resolveRequestSchema,
  successReportSchema,
} from '../contracts/error-report.js';
import { snoozeEnd, snoozeRequestSchema } from '../contracts/snooze.js';
import { createSnoozeStore } from '../stores/snooze-store.js';
import { check, InputRefusedError } from '../contracts/problems.js';
import { createErrorStore } from '../stores/error-store.js';
import { createTokenStore, type TokenHolder } from '../stores/token-store.js';
import { applyEntry, EntityChanged, EntityConflict } from '../admin/entities.js';
import { apiPrefix, NotFound, route, Versioned, type ApiDeps, type ApiRoute } from './api-route.js';
import { entityRoutes } from './api-entities.js';
import { channelRoutes } from './api-channels.js';

export { apiPrefix, type ApiDeps, type ApiRoute } from './api-route.js';

async function ownEnvironment(db: Knex, account: string, environment: string): Promise<void> {
  const row = await db('environments').where({ id: environment, account_id: account }).first('id');
  if (!row) throw new NotFound(`no environment "${environment}"`);
}

/** The environment and every one of these errors belong to the account; else not found, naming the missing. */
async function ownErrors(db: Knex, account: string, environment: string, ids: number[]): Promise<void> {
  await ownEnvironment(db, account, environment);
  const known = await createErrorStore(db).listErrors({ account, environment, limit: ids.length, ids });
  const missing = ids.filter((id) => !known.some((error) => error.id === id));
  if (missing.length > 0) throw new NotFound(`no errors ${missing.join(', ')}`);
}

const errorIdParams = z.strictObject({ id: z.coerce.number({ error: 'must be an error id' }).int({ error: 'must be an error id' }).positive({ error: 'must be an error id' }) });

/** What flows do (report), and what people do with errors (read, resolve, assign). */
export const errorRoutes: ApiRoute[] = [
  route({
    method: 'POST',
    url: '/errors',
    scope: 'report',
    summary: 'Report the errors of one flow run (S1); answers once they are stored. A repeated report (same reportId) is stored once.',
    body: errorReportRequestSchema,
    answers: 'what was stored: { reportId, stored, duplicates, open, retrying, superseded, retryWorkflowId? }',
    async handle({ account, body }, { db, client }) {
      await ownEnvironment(db, account, body.environment);
      return client.reportErrors(body);
    },
  }),
  route({
    method: 'POST',
    url: '/successes',
    scope: 'report',
    summary: 'Report records of a flow that succeeded (S4): their errors auto-resolve where the flow allows it.',
    body: successReportSchema,
    answers: '{ resolved, recovered, autoResolveOff }',
    async handle({ account, body }, { db, client }) {
      await ownEnvironment(db, account, body.environment);
      return client.reportSuccesses(body);
    },
  }),
  route({
    method: 'POST',
    url: '/connections/:connection/status',
    scope: 'report',
    summary: "Report a connection's status (S14): offline (with a reason) or online.",
    params: z.strictObject({ connection: entityId }),
    body: connectionReportSchema,
    answers: '{ changed }: whether this report changed the status Herald holds',
    async handle({ account, body, params }, { db, client }) {
      await ownEnvironment(db, account, body.environment);
      return client.reportConnectionStatus({ ...body, connection: params.connection });
    },
  }),
  route({
    method: 'GET',
    url: '/errors',
    scope: 'read',
    summary: "Errors of the account, newest first, filtered; `next` is the link to the following page (keyset pagination).",
    query: errorListQuerySchema,
    answers: '{ errors: [...], next?: "/api/v1/errors?…&before=ID" }',
    async handle({ account, query, params: _ }, { db }) {
      const limit = query.limit ?? 100;
      const errors = await createErrorStore(db).listErrors({ ...query, account, limit });
      const last = errors.at(-1);
      if (errors.length < limit || !last) return { errors };
      const next = new URLSearchParams(Object.entries({ ...query, before: last.id }).map(([key, value]): [string, string] => [key, String(value)]));
      return { errors, next: `${apiPrefix}/errors?${next}` };
    },
  }),
  route({
    method: 'GET',
    url: '/errors/:id',
    scope: 'read',
    summary: 'One error of the account.',
    params: errorIdParams,
    answers: 'the error',
    async handle({ account, params }, { db }) {
      const error = await createErrorStore(db).getError(params.id, account);
      if (!error) throw new NotFound(`no error ${params.id}`);
      return error;
    },
  }),
  route({
    method: 'POST',
    url: '/errors/assign',
    scope: 'manage',
    summary: 'Assign errors to a user of the account (S32), as a user who is no monitor; the assignee is emailed at once. Answers the ids assigned.',
    body: assignRequestSchema,
    answers: '{ assigned: [ids] }',
    async handle({ account, body }, { db, client }) {
      await ownErrors(db, account, body.environment, body.errorIds);
      return { assigned: await client.assignErrors(body) };
    },
  }),
  route({
    method: 'POST',
    url: '/errors/resolve',
    scope: 'manage',
    summary: 'Resolve errors as a user of the account (S6); answers the ids resolved by this call.',
    body: resolveRequestSchema,
    answers: '{ resolved: [ids] }',
    async handle({ account, body }, { db, client }) {
      await ownErrors(db, account, body.environment, body.errorIds);
      return { resolved: await client.resolveErrors(body) };
    },
  }),
  route({
    method: 'POST',
    url: '/errors/snooze',
    scope: 'manage',
    summary:
      "Snooze errors, or a group of a flow's errors (S46), as a user of the account who is no monitor: until a time, for a while, or until that many more of them are reported. Snoozed errors are left out of digests' new lists and of reminders, and counted as snoozed; when the snooze ends they are told as new once more. Resolving them ends it.",
    body: snoozeRequestSchema,
    answers: '{ snoozed: [ids], until, events }',
    async handle({ account, body }, { db, client }) {
      if (body.errorIds) await ownErrors(db, account, body.environment, body.errorIds);
      else await ownEnvironment(db, account, body.environment);
      const now = new Date();
      const group = body.group && { flow: body.group.flow, key: body.group.group };
      const snoozed = await createSnoozeStore(db).snooze({ environment: body.environment, errorIds: body.errorIds, group, until: snoozeEnd(body, now), events: body.events, user: body.user }, now, (env) => client.tellDigest(env));
      return { snoozed: snoozed.errors, until: snoozed.until, events: snoozed.events };
    },
  }),
];

/** What only an installation's token does: open and rename accounts. */
const installationRoutes: ApiRoute[] = [
  route({
    method: 'PUT',
    url: '/accounts/:id',
    summary: "Create or rename an account (an installation's token only).",
    scope: 'installation',
    params: z.strictObject({ id: entityId }),
    body: z.strictObject({ name: z.string({ error: 'is required' }).min(1, { error: 'is required' }).max(200) }),
    answers: '{ id, name }',
    async handle({ params, body }, { db }) {
      await applyEntry(db, { accounts: [{ id: params.id, name: body.name }] }, 'accounts');
      return { id: params.id, name: body.name };
    },
  }),
];

/** Every route of the API. */
export const apiRoutes: ApiRoute[] = [...errorRoutes, ...entityRoutes, ...channelRoutes, ...installationRoutes];

/** A zod schema as JSON Schema, for the OpenAPI document: requests as they are sent. */
export function jsonSchemaOf(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
}

const tokenKey = (token: string) => createHash('sha256').update(token).digest('hex');
/** The token of `Authorization: Bearer …`; the scheme's name is case-insensitive (RFC 9110 §11.1). */
const bearer = (request: FastifyRequest) => /^Bearer +(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];

declare module 'fastify' {
  interface FastifyRequest {
    tokenHolder?: TokenHolder;
  }
}

/** The header in which an installation's token names the account a call acts in. */
export const accountHeader = 'herald-account';

/** The account a call acts in, or why it has none. */
function accountOf(request: FastifyRequest, holder: TokenHolder): { account: string } | { problem: string } {
  if (holder.account !== null) return { account: holder.account };
  const named = request.headers[accountHeader];
  if (typeof named === 'string' && named !== '') return { account: named };
  return { problem: `an installation's token names the account it acts in: ${accountHeader}: <account id>` };
}

/** Why a token may not make a call, or undefined when it may. */
function outOfScope(holder: TokenHolder, needed: ApiRoute['scope']): string | undefined {
  if (needed === 'installation') return holder.installation ? undefined : "only an installation's token may (herald tokens create --installation)";
  if (holder.scopes.includes(needed)) return undefined;
  return `this token's scopes (${holder.scopes.join(', ')}) do not include ${needed}, which this call needs`;
}

/** Registers the API's routes (with their token check and rate limit) on a Fastify app. */
export async function apiPlugin(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const tokens = createTokenStore(deps.db);
  // Limits by who asks: a valid token's requests count against the token; requests with no token
  // or a token that is not one (a guesser's) count against the client's address, before the 401.
  await app.register(rateLimit, { global: false });
  const max = deps.requestsPerMinute ?? 1200;
  const perToken = app.createRateLimit({ max, timeWindow: '1 minute', keyGenerator: (request) => `token:${tokenKey(bearer(request) ?? '')}` });
  const perAddress = app.createRateLimit({ max, timeWindow: '1 minute', keyGenerator: (request) => `address:${request.ip}` });
  type Limit = { isAllowed: true } | { isAllowed: false; isExceeded: boolean; ttlInSeconds: number };
  const refuseOverLimit = (reply: FastifyReply, limit: Limit) =>
    !limit.isAllowed && limit.isExceeded
      ? reply.code(429).header('retry-after', String(limit.ttlInSeconds)).send({ error: `too many requests: at most ${max} a minute; try again in ${limit.ttlInSeconds} s` })
      : undefined;
  app.addHook('onRequest', async (request, reply) => {
    const token = bearer(request);
    const holder = token ? await tokens.holderOf(token) : undefined;
    if (!holder) {
      return (
        refuseOverLimit(reply, await perAddress(request)) ??
        reply
          .code(401)
          .header('www-authenticate', 'Bearer')
          .send({ error: 'a valid API token is required: Authorization: Bearer <token> (herald tokens create)' })
      );
    }
    const overLimit = refuseOverLimit(reply, await perToken(request));
    if (overLimit) return overLimit;
    request.tokenHolder = holder;
  });

  for (const definition of apiRoutes) {
    app.route({
      method: definition.method,
      url: definition.url,
      ...(definition.deadlineMs && { handlerTimeout: definition.deadlineMs }),
      // The schemas document the route (OpenAPI); the zod schemas validate it, naming each problem.
      schema: {
        tags: ['api'],
        summary: definition.summary,
        ...(definition.body && { body: jsonSchemaOf(definition.body) }),
        ...(definition.query && { querystring: jsonSchemaOf(definition.query) }),
        ...(definition.params && { params: jsonSchemaOf(definition.params) }),
        response: {
          200: { description: definition.answers, type: 'object', additionalProperties: true },
          400: { description: 'refused: `problems` names each field', type: 'object', additionalProperties: true },
          401: { description: 'no valid API token', type: 'object', additionalProperties: true },
          403: { description: `the token may not make this call: it needs the ${definition.scope} scope`, type: 'object', additionalProperties: true },
          201: { description: 'made', type: 'object', additionalProperties: true },
          404: { description: "not found in the token's account", type: 'object', additionalProperties: true },
          409: { description: "taken: an id of another account, or a user's own choice", type: 'object', additionalProperties: true },
          412: { description: 'If-Match names a version that is no longer the current one', type: 'object', additionalProperties: true },
          429: { description: 'too many requests; see Retry-After', type: 'object', additionalProperties: true },
        },
      },
      validatorCompiler: () => (value) => ({ value }),
      serializerCompiler: () => (data) => JSON.stringify(data),
      handler: async (request: FastifyRequest, reply: FastifyReply) => {
        const holder = request.tokenHolder!;
        const refused = outOfScope(holder, definition.scope);
        if (refused) return reply.code(403).send({ error: `forbidden: ${refused}; nothing was done` });
        const acting = definition.scope === 'installation' ? { account: '' } : accountOf(request, holder);
        if ('problem' in acting) return reply.code(400).send({ problems: [{ field: `(header) ${accountHeader}`, message: acting.problem }] });
        const parts = { body: definition.body, query: definition.query, params: definition.params } as const;
        const checked: Record<string, unknown> = {};
        for (const [part, schema] of Object.entries(parts)) {
          if (!schema) continue;
          const result = check(schema, request[part as keyof typeof parts], `(${part})`);
          if (result.problems) return reply.code(400).send({ problems: result.problems });
          checked[part] = result.value;
        }
        try {
          const ifMatch = request.headers['if-match'];
          const answer = await definition.handle(
            {
              account: acting.account,
              actor: `token ${holder.tokenId} (${holder.name})`,
              body: checked.body,
              query: checked.query,
              params: checked.params,
              ...(typeof ifMatch === 'string' && { ifMatch }),
            },
            deps,
          );
          if (!(answer instanceof Versioned)) return answer;
          return reply.code(answer.status).header('etag', answer.version).send(answer.body);
        } catch (error) {
          if (error instanceof NotFound) return reply.code(404).send({ error: `not found: ${error.message}` });
          if (error instanceof EntityConflict) return reply.code(409).send({ error: error.message });
          if (error instanceof EntityChanged) return reply.code(412).send({ error: error.message });
          // Every refusal of input: the client's, the catalog's, an entity's.
          if (error instanceof InputRefusedError) return reply.code(400).send({ problems: error.problems });
          throw error;
        }
      },
    });
  }
}
