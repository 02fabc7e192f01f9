/**
 * Snoozing errors (S46), as the HTTP API takes it: kept out of the contracts the client loads,
 * which read no durations.
 */
import { z } from 'zod';
import { parseDuration } from './duration.js';
import { plainAddress } from './email-address.js';
import { entityId, resolveRequestSchema } from './error-report.js';
import { isIsoTimestamp, timestampMessage } from './timestamp.js';

const snoozeForMessage = 'must be a duration of 1 minute to 365 days, such as "1 day" or "4h"';
const snoozeEventsMessage = 'must be a whole number of errors, 1 to 1,000,000';
/** Snoozing errors, or a group of a flow's errors, until a time, for a while, or for a number of errors more. */
export const snoozeRequestSchema = z
  .strictObject(
    {
      environment: entityId,
      /** These errors, each with those reported again for its trace key… */
      errorIds: resolveRequestSchema.shape.errorIds.optional(),
      /** …or a group of a flow's errors (S42): its fingerprint, as the errors page names it. */
      group: z.strictObject({ flow: entityId, group: z.string({ error: 'must name the group' }).min(1, { error: 'must name the group' }).max(11_000) }, { error: 'must be an object' }).optional(),
      /** Until this time (ISO 8601)… */
      until: z.string({ error: timestampMessage }).refine(isIsoTimestamp, { error: timestampMessage }).optional(),
      /** …for this long… */
      for: z.string({ error: snoozeForMessage }).refine((text) => { const ms = parseDuration(text); return ms !== undefined && ms >= 60_000 && ms <= 365 * 86_400_000; }, { error: snoozeForMessage }).optional(),
      /** …or until this many more errors of it are reported. */
      events: z.number({ error: snoozeEventsMessage }).int({ error: snoozeEventsMessage }).min(1, { error: snoozeEventsMessage }).max(1_000_000, { error: snoozeEventsMessage }).optional(),
      /** Email of the user who snoozes them. */
      user: plainAddress,
    },
    { error: 'must be an object' },
  )
  .check((ctx) => {
    if ((ctx.value.errorIds === undefined) === (ctx.value.group === undefined)) {
      ctx.issues.push({ code: 'custom', path: ['errorIds'], message: 'name the errors (errorIds) or a group (group), one of them', input: ctx.value.errorIds });
    }
    if ([ctx.value.until, ctx.value.for, ctx.value.events].filter((end) => end !== undefined).length !== 1) {
      ctx.issues.push({ code: 'custom', path: ['until'], message: 'say until when (until), for how long (for) or for how many more errors (events), one of them', input: ctx.value.until });
    }
  });
export type SnoozeRequest = z.input<typeof snoozeRequestSchema>;

/** When a snooze asked for `until` a time or `for` a while, from `now`, ends; undefined for one that ends by a number of errors. */
export function snoozeEnd(request: { until?: string; for?: string }, now: Date): Date | undefined {
  if (request.until !== undefined) return new Date(request.until);
  if (request.for !== undefined) return new Date(now.getTime() + parseDuration(request.for)!);
  return undefined;
}
