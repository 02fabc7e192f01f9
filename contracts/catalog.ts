/**
 * The catalog's shape (S16–S18, S36, S37): accounts, users, environments, integrations,
 * connections, flows and subscriptions, as a JSON or YAML file declares them. Every malformed
 * shape is a refusal at its path; unknown sections and fields (`__proto__` included) are
 * reported, never ignored.
 */
import { z } from 'zod';
import { pathText, problemsOf, type InputProblem } from './problems.js';
import { breaksLine, unstorableText } from './text.js';
import { isPlainAddress, plainAddressMessage } from './email-address.js';
import { entityIdMessage, entityIdPattern } from './error-report.js';
import { parseDuration } from './duration.js';
import { rhythmSchema } from './rhythm.js';
import { weeklyReviewSchema } from './weekly-review.js';
import { channelKind, channelName, targetBody } from './channel.js';

export const userRoles = ['owner', 'admin', 'manage', 'monitor'] as const;
export type UserRole = (typeof userRoles)[number];

/** A message that says "is required" for a missing value, and `message` for a wrong one. */
const required = (message: string) => ({
  error: (issue: { input?: unknown }) => (issue.input === undefined || issue.input === null ? 'is required' : message),
});

const id = z.string(required(entityIdMessage)).regex(entityIdPattern, { error: entityIdMessage });
const ids = z.array(z.string().regex(entityIdPattern), { error: 'must be a list of ids' });

const textMessage = 'must be a non-empty single line of at most 200 characters';
/** A name: one line that PostgreSQL can store. */
const text = z.string(required(textMessage)).check((ctx) => {
  const value = ctx.value;
  const problem =
    value.trim() === '' || value.length > 200 || breaksLine(value) ? textMessage : unstorableText(value);
  if (problem) ctx.issues.push({ code: 'custom', message: problem, input: value });
});

const email = z.string(required(plainAddressMessage)).refine(isPlainAddress, { error: plainAddressMessage });
const bool = z.boolean({ error: 'must be true or false' });
const role = z.enum(userRoles, required(`must be one of ${userRoles.join(', ')}`));
const queueMessage = 'must be a task queue name: letters, digits, ".", "_" or "-"';
const queue = z.string({ error: queueMessage }).regex(/^[A-Za-z0-9._-]{1,200}$/, { error: queueMessage });

const entry = <T extends z.core.$ZodLooseShape>(shape: T) => z.strictObject(shape, { error: 'must be an object' });
const section = <T extends z.ZodType>(item: T) => z.array(item, { error: 'must be a list' }).optional();

export const catalogAccountSchema = entry({ id, name: text });
export const catalogUserSchema = entry({
  account: id,
  email,
  name: text.nullish(),
  role,
  /** `true` removes the user from the account. */
  removed: bool.nullish(),
});
export const catalogEnvironmentSchema = entry({
  id,
  account: id,
  name: text,
  production: z.boolean(required('must be true or false')),
  /** Legacy production/sandbox pair: the other environment of the pair, whose resources this one shares. */
  sharesResourcesWith: id.nullish(),
  /**
   * Errors open longer than this are reminded of, once a day (S31), e.g. "3 days" (the default),
   * "12h". Digests look for them when one may be due (an error passing the threshold, a day after
   * the last reminders), at a cycle; a threshold under an interval counts for `herald digest remind`.
   */
  remindAfter: z
    .string(required('must be a duration such as "3 days" or "12h"'))
    .refine((value) => (parseDuration(value) ?? 0) >= 60_000, { error: 'must be a duration of at least 1 minute, such as "3 days" or "12h"' })
    .nullish(),
});
export const catalogIntegrationSchema = entry({ id, environment: id, name: text });
export const catalogConnectionSchema = entry({ id, environment: id, name: text });
export const catalogFlowSchema = entry({
  id,
  integration: id,
  name: text,
  autoResolve: bool.nullish(),
  taskQueue: queue.nullish(),
  connections: ids.nullish(),
});
/** The complete set of one user's subscriptions in one environment; targets not listed are removed. */
export const catalogSubscriptionSchema = entry({
  environment: id,
  user: email,
  flows: ids.nullish(),
  integrations: ids.nullish(),
  connections: ids.nullish(),
  /** When the user's digests come (S41); left as it is when absent, every cycle when null. A user's own choice on the settings page stands. */
  rhythm: rhythmSchema.nullish(),
  /** The user's weekly review (S47); left as it is when absent, their role's default when null. A user's own choice on the settings page stands. */
  weeklyReview: weeklyReviewSchema.nullish(),
  /** Where the subscriptions go (S43): email, a channel of the account, or both; left as it is when absent, email when null. A user's own choice on the settings page stands. */
  target: targetBody.nullish(),
});
/**
 * A channel of an account (S43). A signed webhook's secret is the platform's to give here (the
 * API and the pages make one and show it once).
 */
export const catalogChannelSchema = entry({
  account: id,
  name: channelName,
  kind: channelKind,
  url: z.string(required('must be the URL Slack, Teams or the receiver gave (https://…)')),
  /** Its secret, as its kind takes one (contracts/channel.ts): checked with the kind. */
  secret: z.string(required('must be the channel\'s secret, as text')).nullish(),
  /** When its digests come (S49): as a person's rhythm; absent, every cycle. */
  rhythm: rhythmSchema.nullish(),
});

export const catalogSections = ['accounts', 'users', 'environments', 'integrations', 'connections', 'flows', 'channels', 'subscriptions'] as const;

export const catalogSchema = z.strictObject(
  {
    accounts: section(catalogAccountSchema),
    users: section(catalogUserSchema),
    environments: section(catalogEnvironmentSchema),
    integrations: section(catalogIntegrationSchema),
    connections: section(catalogConnectionSchema),
    flows: section(catalogFlowSchema),
    channels: section(catalogChannelSchema),
    subscriptions: section(catalogSubscriptionSchema),
  },
  { error: 'must be an object with sections such as "accounts" and "flows"' },
);

export type Catalog = z.input<typeof catalogSchema>;
export type CheckedCatalog = z.output<typeof catalogSchema>;
export type CatalogAccount = z.output<typeof catalogAccountSchema>;
export type CatalogUser = z.output<typeof catalogUserSchema>;
export type CatalogEnvironment = z.output<typeof catalogEnvironmentSchema>;
export type CatalogIntegration = z.output<typeof catalogIntegrationSchema>;
export type CatalogConnection = z.output<typeof catalogConnectionSchema>;
export type CatalogFlow = z.output<typeof catalogFlowSchema>;
export type CatalogSubscription = z.output<typeof catalogSubscriptionSchema>;
export type CatalogChannel = z.output<typeof catalogChannelSchema>;

const entrySchemas = {
  accounts: catalogAccountSchema,
  users: catalogUserSchema,
  environments: catalogEnvironmentSchema,
  integrations: catalogIntegrationSchema,
  connections: catalogConnectionSchema,
  flows: catalogFlowSchema,
  channels: catalogChannelSchema,
  subscriptions: catalogSubscriptionSchema,
} as const;

/**
 * Every problem of the catalog's shape, each at its path (`flows[3].integration`), and the
 * catalog of the entries that have none, so that their references can be checked too: one
 * refusal then lists everything wrong with the file.
 */
export function checkCatalogShape(input: unknown): { catalog: CheckedCatalog; problems: InputProblem[] } {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { catalog: {}, problems: [{ field: '(catalog)', message: 'must be an object with sections such as "accounts" and "flows"' }] };
  }
  const problems: InputProblem[] = [];
  const catalog: Record<string, unknown[]> = {};
  for (const section of catalogSections) {
    const entries = (input as Record<string, unknown>)[section];
    if (entries === undefined || entries === null) continue;
    if (!Array.isArray(entries)) {
      problems.push({ field: section, message: 'must be a list' });
      continue;
    }
    const valid: unknown[] = [];
    entries.forEach((entry, index) => {
      const result = entrySchemas[section].safeParse(entry);
      if (result.success) valid.push(result.data);
      else problems.push(...problemsOf(result.error).map((p) => ({ field: pathText([section, index, ...pathOf(p.field)]), message: p.message })));
    });
    catalog[section] = valid;
  }
  for (const key of Object.keys(input)) {
    if (!(catalogSections as readonly string[]).includes(key)) {
      problems.push({ field: key, message: `unknown section (known: ${catalogSections.join(', ')})` });
    }
  }
  return { catalog: catalog as CheckedCatalog, problems };
}

/** The path of a problem found inside one entry, as parts (`(input)` is the entry itself). */
function pathOf(field: string): (string | number)[] {
  if (field === '(input)') return [];
  return field.split(/\.|\[(\d+)\]/).filter((part) => part !== undefined && part !== '').map((part) => (/^\d+$/.test(part) ? Number(part) : part));
}
