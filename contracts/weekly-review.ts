/**
 * A person's weekly review of an environment (S47), as the settings page, the API and the catalog
 * take it: on or off, and the day and time of day it comes, in the time zone of their digest
 * rhythm (S41). Owners and admins get it unless they turn it off; others when they turn it on.
 */
import { z } from 'zod';
import { clockTime } from './rhythm.js';

export const weekdays = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'] as const;
export type Weekday = (typeof weekdays)[number];

export const weeklyReviewSchema = z.strictObject(
  {
    on: z.boolean({ error: 'must be true or false' }),
    day: z.enum(weekdays, { error: `must be a day of the week: ${weekdays.join(', ')}` }).default('monday'),
    /** The time of day it comes, in the person's time zone. */
    at: clockTime.default('08:00'),
  },
  { error: 'must be an object such as { "on": true, "day": "monday", "at": "08:00" }' },
);

export type WeeklyReviewInput = z.input<typeof weeklyReviewSchema>;
export type WeeklyReview = z.output<typeof weeklyReviewSchema>;

/** Roles that get the weekly review unless they turn it off. */
export const weeklyReviewByDefault = ['owner', 'admin'] as const;

/** A person's weekly review when they have not chosen one: on for owners and admins, Monday at 08:00. */
export function defaultWeeklyReview(role: string): WeeklyReview {
  return { on: (weeklyReviewByDefault as readonly string[]).includes(role), day: 'monday', at: '08:00' };
}

/** How it reads on a page: "Mondays at 08:00 (Europe/Berlin)", or "off". */
export function describeWeeklyReview(review: WeeklyReview, timeZone: string): string {
  if (!review.on) return 'off';
  return `${review.day[0]!.toUpperCase()}${review.day.slice(1)}s at ${review.at} (${timeZone})`;
}
