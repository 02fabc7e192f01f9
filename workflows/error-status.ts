/** The statuses of an error: in its retry window, open, resolved by a user, or resolved by Herald. */
export const errorStatuses = ['retrying', 'open', 'resolved', 'auto_resolved'] as const;
export type ErrorStatus = (typeof errorStatuses)[number];
