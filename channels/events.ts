/**
 * What Herald posts to a signed webhook (S43), as versioned JSON events in the Standard Webhooks
 * shape `{ type, timestamp, data }`. The OpenAPI document lists them under `webhooks`; Slack and
 * Teams messages are made from the same events (slack.ts, teams.ts), so every channel tells the
 * same thing. Version 1: fields may be added, never removed or changed in meaning.
 */
import { z } from 'zod';

const environment = z.object({
  id: z.string(),
  name: z.string(),
  production: z.boolean().describe('false: the message names the environment as non-production'),
});

const errorLine = z.object({
  errorId: z.number().int(),
  flow: z.string().describe("the flow's name"),
  integration: z.string(),
  traceKey: z.string().describe('the failed record'),
  message: z.string(),
  code: z.string().nullable(),
  occurredAt: z.string().describe('ISO 8601'),
  count: z.number().int().describe('errors this line stands for (a group of alike errors, S42); 1 for one error'),
  url: z.string().describe("the error's page"),
});

const account = z.object({ id: z.string(), name: z.string() });

/** An event of `type` (version 1), at `when`, about the account and environment and `data`. */
const eventOf = <T extends z.ZodType, D extends z.ZodRawShape>(type: T, when: string, data: D) =>
  z.object({ type, version: z.literal(1), timestamp: z.string().describe(`${when}, ISO 8601`), data: z.object({ account, environment, ...data }) });

export const digestEventSchema = eventOf(z.literal('herald.digest'), 'when the cycle was fixed', {
  cycle: z.number().int().describe("the environment's digest cycle"),
  newErrors: z.number().int(),
  resolvedErrors: z.number().int().describe('resolved since the last digest, of errors this channel was told of'),
  openErrors: z.number().int().describe('open now, in the flows this channel follows'),
  firstNew: z.array(errorLine).describe('the first new errors (at most 10 lines)'),
  firstResolved: z.array(errorLine).describe('the first resolved errors (at most 10 lines)'),
  flows: z
    .array(
      z.object({
        id: z.string(),
        name: z.string(),
        integration: z.string(),
        newErrors: z.number().int(),
        resolvedErrors: z.number().int().describe('resolved since the last digest, of errors this channel was told of'),
        openErrors: z.number().int().describe('open now'),
        url: z.string().describe("the flow's open errors"),
      }),
    )
    .describe('each flow with news in this digest, by name (at most 100), with its errors open now')
    .optional(),
  url: z.string().describe("the environment's errors page"),
});

export const connectionEventSchema = eventOf(z.enum(['herald.connection.offline', 'herald.connection.online']), 'when the connection changed', {
  connection: z.object({ id: z.string(), name: z.string() }),
  status: z.enum(['offline', 'online']),
  reason: z.string().nullable(),
  usedBy: z.array(z.object({ integration: z.string(), flows: z.array(z.string()) })),
  errorsSince: z.number().int().describe('for an outage: errors of the flows using it since it began'),
  url: z.string().describe("the connection's page"),
});

export const reminderEventSchema = eventOf(z.literal('herald.errors.reminder'), 'when the reminder was planned', {
  openLongerThanMs: z.number().int().describe("the environment's threshold (S31)"),
  count: z.number().int().describe('errors of the flows this channel follows open longer than that'),
  first: z.array(errorLine).describe('the oldest of them (at most 10)'),
  url: z.string().describe("the environment's open errors"),
});

export const assignmentEventSchema = eventOf(z.literal('herald.errors.assigned'), 'when they were assigned', {
  assignee: z.string().describe("the assignee's address"),
  assignedBy: z.string(),
  count: z.number().int(),
  errors: z.array(errorLine).describe('the errors assigned (at most 10)'),
  url: z.string().describe("the assignee's open errors"),
});

export type DigestEvent = z.infer<typeof digestEventSchema>;
export type ConnectionEvent = z.infer<typeof connectionEventSchema>;
export type ReminderEvent = z.infer<typeof reminderEventSchema>;
export type AssignmentEvent = z.infer<typeof assignmentEventSchema>;
export type ChannelEvent = DigestEvent | ConnectionEvent | ReminderEvent | AssignmentEvent;
export type ErrorLine = DigestEvent['data']['firstNew'][number];

/** Lines of errors an event lists, of each kind. */
export const eventLines = 10;

/** Flows a digest event lists. */
export const eventFlows = 100;

/** The events, as the OpenAPI document's `webhooks`. */
export const webhookEvents = {
  'herald.digest': digestEventSchema,
  'herald.connection': connectionEventSchema,
  'herald.errors.reminder': reminderEventSchema,
  'herald.errors.assigned': assignmentEventSchema,
};

/** The environment as a message names it: a non-production one always by name (S21). */
export function environmentLabel(env: { name: string; production: boolean }): string {
  return env.production ? env.name : `${env.name} (non-production)`;
}

