/**
 * What a flow reports, as it crosses from the client into workflows and activities, and the
 * checks it must pass before anything is stored (S2). Pure code: the client, the workflows and
 * the activities all use it.
 */

/** One error of a flow run, as the flow reports it. */
export interface ReportedError {
  /** The caller's id of this error; a repeated report of the same id is stored once. Default: batch id + position. */
  id?: string;
  /** The id of the record that failed. */
  traceKey: string;
  message: string;
  code?: string;
  /** The step of the flow that failed (an export, an import, a lookup…). */
  step?: string;
  /** ISO 8601 time of the failure; default: when reported. */
  occurredAt?: string;
  /** The flow knows this error to be intermittent (S5); retryable codes count as intermittent too. */
  intermittent?: boolean;
  /** The failed record, kept for the retry target and for people reading the error. */
  record?: unknown;
}

/** One report: the errors of one flow run, stored together. */
export interface ErrorBatch {
  environment: string;
  flow: string;
  /** Names the flow run's report; a report repeated with the same batch id is recognised. */
  batchId: string;
  errors: ReportedError[];
  /**
   * An activity type on the flow's own task queue that retries one failed record during the
   * retry window of intermittent errors. Without it, only a success report recovers them.
   */
  retryActivity?: string;
}

/** Limits of what a report may hold; larger input is refused, not cut. */
export const reportLimits = {
  errorsPerBatch: 10_000,
  idLength: 200,
  traceKeyLength: 512,
  messageLength: 10_000,
  codeLength: 100,
  stepLength: 200,
  recordBytes: 64 * 1024,
  /** A report travels as one Temporal payload, which the server caps at 2 MiB. */
  reportBytes: 1_900_000,
} as const;

/**
 * Error codes that make an error intermittent (S5): network timeouts and resets, HTTP 408,
 * 429 and every 5xx.
 */
export const retryableCodes: readonly string[] = [
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'EAI_AGAIN',
  'TIMEOUT',
  '408',
  '429',
];

/** True when an error with this code is intermittent: a listed code, or an HTTP 5xx status. */
export function isRetryableCode(code: string | undefined): boolean {
  if (!code) return false;
  const normalized = code.trim().toUpperCase();
  return retryableCodes.includes(normalized) || /^5\d\d$/.test(normalized);
}

/** One thing wrong with a report, at its field (`errors[2].message`). */
export interface InputProblem {
  field: string;
  message: string;
}

const idPattern = /^[A-Za-z0-9][A-Za-z0-9._:@/-]*$/;
const entityIdPattern = /^[a-z0-9][a-z0-9._-]{0,99}$/;
const isoDate = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;
const activityTypePattern = /^[A-Za-z_$][A-Za-z0-9_$]{0,199}$/;

/** Checks a report's shape and limits; returns every problem found (none means valid). */
export function checkErrorBatch(batch: ErrorBatch): InputProblem[] {
  const problems: InputProblem[] = [];
  const problem = (field: string, message: string) => problems.push({ field, message });
  checkEntityId(batch.environment, 'environment', problem);
  checkEntityId(batch.flow, 'flow', problem);
  checkId(batch.batchId, 'batchId', problem);
  if (batch.retryActivity !== undefined && !(typeof batch.retryActivity === 'string' && activityTypePattern.test(batch.retryActivity))) {
    problem('retryActivity', 'must be an activity type name');
  }
  if (!Array.isArray(batch.errors) || batch.errors.length === 0) {
    problem('errors', 'must list at least one error');
    return problems;
  }
  if (batch.errors.length > reportLimits.errorsPerBatch) {
    problem('errors', `holds ${batch.errors.length} errors; at most ${reportLimits.errorsPerBatch} per report`);
    return problems;
  }
  const reportSize = jsonSize(batch.errors) ?? 0;
  if (reportSize > reportLimits.reportBytes) {
    problem('errors', `amount to ${reportSize} bytes of JSON; at most ${reportLimits.reportBytes} per report: split the report`);
    return problems;
  }
  const ids = new Set<string>();
  batch.errors.forEach((error, index) => {
    const at = `errors[${index}]`;
    if (typeof error !== 'object' || error === null) return problem(at, 'must be an object');
    if (error.id !== undefined) {
      checkId(error.id, `${at}.id`, problem);
      if (ids.has(error.id)) problem(`${at}.id`, `repeats the id "${error.id}" of an earlier error in this report`);
      ids.add(error.id);
    }
    checkText(error.traceKey, `${at}.traceKey`, reportLimits.traceKeyLength, true, problem);
    checkText(error.message, `${at}.message`, reportLimits.messageLength, true, problem);
    checkText(error.code, `${at}.code`, reportLimits.codeLength, false, problem);
    checkText(error.step, `${at}.step`, reportLimits.stepLength, false, problem);
    if (error.occurredAt !== undefined) {
      if (typeof error.occurredAt !== 'string' || !isoDate.test(error.occurredAt) || Number.isNaN(Date.parse(error.occurredAt))) {
        problem(`${at}.occurredAt`, 'must be an ISO 8601 date-time with a time zone, e.g. 2026-11-27T10:15:00Z');
      }
    }
    if (error.intermittent !== undefined && typeof error.intermittent !== 'boolean') {
      problem(`${at}.intermittent`, 'must be true or false');
    }
    if (error.record !== undefined) {
      const size = jsonSize(error.record);
      if (size === undefined) problem(`${at}.record`, 'must be plain JSON data');
      else if (size > reportLimits.recordBytes) problem(`${at}.record`, `is ${size} bytes of JSON; at most ${reportLimits.recordBytes}`);
    }
  });
  return problems;
}

/** Checks a list of trace keys (a success report). */
export function checkTraceKeys(traceKeys: unknown, field = 'traceKeys'): InputProblem[] {
  const problems: InputProblem[] = [];
  if (!Array.isArray(traceKeys) || traceKeys.length === 0) return [{ field, message: 'must list at least one trace key' }];
  if (traceKeys.length > reportLimits.errorsPerBatch) {
    return [{ field, message: `holds ${traceKeys.length} trace keys; at most ${reportLimits.errorsPerBatch}` }];
  }
  traceKeys.forEach((key, i) =>
    checkText(key, `${field}[${i}]`, reportLimits.traceKeyLength, true, (f, m) => problems.push({ field: f, message: m })),
  );
  return problems;
}

/** Checks an environment, flow or connection id as the catalog defines them. */
export function checkEntityId(value: unknown, field: string, problem: (field: string, message: string) => void): void {
  if (typeof value !== 'string' || !entityIdPattern.test(value)) {
    problem(field, 'must be an id: lower-case letters, digits, ".", "_" or "-", at most 100 characters');
  }
}

function checkId(value: unknown, field: string, problem: (field: string, message: string) => void): void {
  if (typeof value !== 'string' || value.length > reportLimits.idLength || !idPattern.test(value)) {
    problem(field, `must be an id of letters, digits and . _ : @ / - (at most ${reportLimits.idLength} characters)`);
  }
}

function checkText(
  value: unknown,
  field: string,
  limit: number,
  required: boolean,
  problem: (field: string, message: string) => void,
): void {
  if (value === undefined || value === null) {
    if (required) problem(field, 'is required');
    return;
  }
  if (typeof value !== 'string') return problem(field, 'must be text');
  if (required && value.trim() === '') return problem(field, 'must not be empty');
  if (value.length > limit) problem(field, `is ${value.length} characters long; at most ${limit}`);
}

function jsonSize(value: unknown): number | undefined {
  try {
    const text = JSON.stringify(value);
    return text === undefined ? undefined : new TextEncoder().encode(text).length;
  } catch {
    return undefined;
  }
}
