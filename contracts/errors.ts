/** The statuses of an error: in its retry window, open, resolved by a user, or resolved by Herald. */
export const errorStatuses = ['retrying', 'open', 'resolved', 'auto_resolved'] as const;
export type ErrorStatus = (typeof errorStatuses)[number];

/** An error waiting out its retry window, as the retry workflow tracks it. */
export interface RetryingError {
  id: number;
  /** The caller's key of the error. */
  errorKey: string;
  traceKey: string;
}

/** A retrying error as histories recorded before it was named `errorKey` hold it. */
export type RecordedRetryingError = Omit<RetryingError, 'errorKey'> & { errorKey?: string; key?: string };

/** The caller's key of a retrying error, from a run of this release or of an earlier one. */
const retryingErrorKey = (error: RecordedRetryingError): string => error.errorKey ?? error.key!;

/** The key of a retrying error as its retry target receives it: under its name and its old one. */
export function retryTargetKeys(error: RecordedRetryingError): Pick<RetryTargetInput, 'errorKey' | 'errorId'> {
  const key = retryingErrorKey(error);
  return { errorKey: key, errorId: key };
}

/**
 * What a flow's retry target activity receives for one record of an intermittent error (S5):
 * the error's key (as the report gave it, or the report's id and its position) and trace key.
 */
export interface RetryTargetInput {
  environment: string;
  flow: string;
  errorKey: string;
  /** The old name of `errorKey`, still sent for retry activities written against releases up to 0.1. */
  errorId: string;
  traceKey: string;
}
