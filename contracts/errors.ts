/** The statuses of an error: in its retry window, open, resolved by a user, or resolved by Herald. */
export const errorStatuses = ['retrying', 'open', 'resolved', 'auto_resolved'] as const;
export type ErrorStatus = (typeof errorStatuses)[number];

/** An error waiting out its retry window, as the retry workflow tracks it. */
export interface RetryingError {
  id: number;
  /** The caller's id of the error. */
  key: string;
  traceKey: string;
}

/**
 * What a flow's retry target activity receives for one record of an intermittent error (S5).
 * `errorId` is the error's `id` in the report (its key in Herald).
 */
export interface RetryTargetInput {
  environment: string;
  flow: string;
  errorId: string;
  traceKey: string;
}
