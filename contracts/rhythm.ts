/**
 * A person's digest rhythm in one environment (S41), as the settings page, the API and the
 * catalog take it: every cycle (the default), hourly, or daily at a time of their own time zone,
 * with optional quiet hours in which only connection emails (if they want those) are sent.
 */
import { IANAZone } from 'luxon';
import { z } from 'zod';

export const rhythmEveries = ['cycle', 'hour', 'day'] as const;
export type RhythmEvery = (typeof rhythmEveries)[number];

const clockMessage = 'must be a time of day as HH:MM, from 00:00 to 23:59';
/** A time of day, "HH:MM" on a 24-hour clock. */
export const clockTime = z.string({ error: clockMessage }).regex(/^([01]\d|2[0-3]):[0-5]\d$/, { error: clockMessage });

const zoneMessage = 'must be an IANA time zone such as "Europe/Berlin" or "UTC"';
export const timeZone = z
  .string({ error: zoneMessage })
  .max(100, { error: zoneMessage })
  .refine((zone) => IANAZone.isValidZone(zone), { error: zoneMessage });

export const quietHoursSchema = z
  .strictObject(
    {
      from: clockTime,
      to: clockTime,
      /** Whether connection emails come at once in quiet hours (they do unless this is false; if false, when they end, S49). */
      connectionEmails: z.boolean({ error: 'must be true or false' }).default(true),
    },
    { error: 'must be an object such as { "from": "22:00", "to": "07:00" }' },
  )
  .refine((quiet) => quiet.from !== quiet.to, { error: 'must end at another time than it starts', path: ['to'] });

export const rhythmSchema = z
  .strictObject(
    {
      every: z.enum(rhythmEveries, { error: `must be one of ${rhythmEveries.join(', ')}` }),
      /** For `every: "day"`: the time of day the digest comes, in `timeZone`. */
      at: clockTime.optional(),
      timeZone: timeZone.default('UTC'),
      quietHours: quietHoursSchema.nullish(),
    },
    { error: 'must be an object such as { "every": "day", "at": "08:00", "timeZone": "Europe/Berlin" }' },
  )
  .check((ctx) => {
    const { every, at } = ctx.value;
    if (every === 'day' && at === undefined) ctx.issues.push({ code: 'custom', message: 'is required for a daily digest', path: ['at'], input: ctx.value });
    if (every !== 'day' && at !== undefined) ctx.issues.push({ code: 'custom', message: `is only for a daily digest, not every ${every}`, path: ['at'], input: ctx.value });
  });

export type RhythmInput = z.input<typeof rhythmSchema>;
export type Rhythm = z.output<typeof rhythmSchema>;

/** The default: every cycle of the environment, any time of day. */
export const everyCycle: Rhythm = { every: 'cycle', timeZone: 'UTC', quietHours: null };

/** How a rhythm reads on a page: "daily at 08:00 (Europe/Berlin), quiet 22:00–07:00". */
export function describeRhythm(rhythm: Rhythm): string {
  const when = rhythm.every === 'cycle' ? 'every digest cycle' : rhythm.every === 'hour' ? `hourly (${rhythm.timeZone})` : `daily at ${rhythm.at} (${rhythm.timeZone})`;
  const quiet = rhythm.quietHours ? `, quiet ${rhythm.quietHours.from}–${rhythm.quietHours.to}${rhythm.every === 'cycle' ? ` (${rhythm.timeZone})` : ''}` : '';
  return when + quiet;
}
