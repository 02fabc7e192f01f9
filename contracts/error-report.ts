/**
 * What flows report, as it crosses from the client (or the command line) into workflows and
 * activities, and the schemas it must pass before anything is stored (S2, S35). The client
 * checks before it sends; the activities check again, for callers that start workflows directly.
 */
import { z } from 'zod';
import { check, type InputProblem } from './problems.js';
import { unstorableJson, unstorableText } from './text.js';
import { isIsoTimestamp, timestampMessage } from './timestamp.js';
import { plainAddress } from './email-address.js';
import { errorStatuses } from './errors.js';
import { actionSources } from './email-action.js';

export type { InputProblem } from './problems.js';

/** Limits of what a report may hold; larger input is refused, not cut. */
export const reportLimits = {
  errorsPerReport: 10_000,
  idLength: 200,
  traceKeyLength: 512,
  messageLength: 10_000,
  codeLength: 100,
  stepLength: 200,
  reasonLength: 2_000,
  fingerprintLength: 200,
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

// ---- building blocks ---------------------------------------------------------------------

/** Text PostgreSQL can store, of at most `limit` characters; `required` text must not be blank. */
function text(limit: number, required: boolean) {
  return z.string({ error: (issue) => (issue.input === undefined || issue.input === null ? 'is required' : 'must be text') }).check((ctx) => {
    const value = ctx.value;
    if (required && value.trim() === '') ctx.issues.push({ code: 'custom', message: 'must not be empty', input: value });
    else if (value.length > limit) ctx.issues.push({ code: 'custom', message: `is ${value.length} characters long; at most ${limit}`, input: value });
    else {
      const unstorable = unstorableText(value);
      if (unstorable) ctx.issues.push({ code: 'custom', message: unstorable, input: value });
    }
  });
}

const idMessage = `must be an id of letters, digits and . _ : @ / - (at most ${reportLimits.idLength} characters)`;
/** A caller's id of a report or an error. */
const callerId = z.string({ error: idMessage }).max(reportLimits.idLength, { error: idMessage }).regex(/^[A-Za-z0-9][A-Za-z0-9._:@/-]*$/, { error: idMessage });

/** What an environment, integration, flow or connection id is made of, and the words that say so. */
export const entityIdPattern = /^[a-z0-9][a-z0-9._-]{0,99}$/;
export const entityIdMessage = 'must be an id: lower-case letters, digits, ".", "_" or "-", at most 100 characters';
/** An environment, integration, flow or connection id, as the catalog defines them. */
export const entityId = z.string({ error: entityIdMessage }).regex(entityIdPattern, { error: entityIdMessage });

const activityTypeMessage = 'must be an activity type name';
const activityType = z.string({ error: activityTypeMessage }).regex(/^[A-Za-z_$][A-Za-z0-9_$]{0,199}$/, { error: activityTypeMessage });

const jsonRecord = z.unknown().check((ctx) => {
  const size = jsonSize(ctx.value);
  if (size === undefined) ctx.issues.push({ code: 'custom', message: 'must be plain JSON data', input: ctx.value });
  else if (size > reportLimits.recordBytes) ctx.issues.push({ code: 'custom', message: `is ${size} bytes of JSON; at most ${reportLimits.recordBytes}`, input: ctx.value });
  else {
    const unstorable = unstorableJson(ctx.value);
    if (unstorable) ctx.issues.push({ code: 'custom', message: unstorable, input: ctx.value });
  }
});

// ---- error reports -----------------------------------------------------------------------

export const reportedErrorSchema = z.strictObject(
  {
    /** The caller's key of this error; a repeated report of the same key is stored once. Default: the report's id + position. */
    errorKey: callerId.optional(),
    /** The old name of `errorKey` (releases up to 0.1), still accepted: reports in flight and flows written then use it. */
    id: callerId.optional(),
    /** The id of the record that failed. */
    traceKey: text(reportLimits.traceKeyLength, true),
    message: text(reportLimits.messageLength, true),
    code: text(reportLimits.codeLength, false).optional(),
    /** The step of the flow that failed (an export, an import, a lookup…). */
    step: text(reportLimits.stepLength, false).optional(),
    /** ISO 8601 time of the failure; default: when reported. */
    occurredAt: z.string({ error: timestampMessage }).refine(isIsoTimestamp, { error: timestampMessage }).optional(),
    /** The flow knows this error to be intermittent (S5); retryable codes count as intermittent too. */
    intermittent: z.boolean({ error: 'must be true or false' }).optional(),
    /** The failed record, kept for the retry target and for people reading the error. */
    record: jsonRecord.optional(),
    /**
     * The flow's own name for what went wrong (S42): errors of a flow with the same fingerprint
     * are grouped. Default: their message with its numbers, ids, quoted values, e-mails and UUIDs left out.
     */
    fingerprint: text(reportLimits.fingerprintLength, true).optional(),
  },
  { error: 'must be an object' },
);

export const errorReportSchema = z
  .strictObject(
    {
      environment: entityId,
      flow: entityId,
      /** Names the report (e.g. the flow run's id); a report repeated with the same id is stored once. */
      reportId: callerId,
      /**
       * An activity type on the flow's own task queue that retries one failed record during the
       * retry window of intermittent errors. Without it, only a success report recovers them.
       */
      retryActivity: activityType.optional(),
      errors: z
        .array(reportedErrorSchema, { error: 'must list at least one error' })
        .min(1, { error: 'must list at least one error' })
        .max(reportLimits.errorsPerReport, {
          error: (issue) => `holds ${(issue.input as unknown[]).length} errors; at most ${reportLimits.errorsPerReport} per report`,
        })
        .check((ctx) => {
          const seen = new Set<string>();
          ctx.value.forEach((error, index) => {
            const key = errorKeyOf(error);
            if (key === undefined) return;
            const field = error.errorKey === undefined ? 'id' : 'errorKey';
            if (error.errorKey !== undefined && error.id !== undefined) {
              ctx.issues.push({ code: 'custom', path: [index, 'id'], message: 'is the old name of errorKey: give errorKey alone', input: error.id });
            } else if (seen.has(key)) {
              ctx.issues.push({ code: 'custom', path: [index, field], message: `repeats the error key "${key}" of an earlier error in this report`, input: key });
            }
            seen.add(key);
          });
          const size = jsonSize(ctx.value) ?? 0;
          if (size > reportLimits.reportBytes) {
            ctx.issues.push({ code: 'custom', message: `amount to ${size} bytes of JSON; at most ${reportLimits.reportBytes} per report: split the report`, input: ctx.value });
          }
        }),
    },
    { error: 'must be an object' },
  );

/** One error of a flow run, as the flow reports it. */
export type ReportedError = z.input<typeof reportedErrorSchema>;

/** The caller's key of a reported error, under its name or its old one (`id`). */
export function errorKeyOf(error: { errorKey?: string; id?: string }): string | undefined {
  return error.errorKey ?? error.id;
}
/** One report: the errors of one flow run, stored together. */
export type ErrorReport = z.input<typeof errorReportSchema>;

/** Every problem of a report (none means valid). */
export function checkErrorReport(report: unknown): InputProblem[] {
  return check(errorReportSchema, report, '(report)').problems ?? [];
}

// ---- success reports ---------------------------------------------------------------------

export const traceKeysSchema = z
  .array(text(reportLimits.traceKeyLength, true), { error: 'must list at least one trace key' })
  .min(1, { error: 'must list at least one trace key' })
  .max(reportLimits.errorsPerReport, {
    error: (issue) => `holds ${(issue.input as unknown[]).length} trace keys; at most ${reportLimits.errorsPerReport}`,
  });

export const successReportSchema = z.strictObject(
  { environment: entityId, flow: entityId, traceKeys: traceKeysSchema, reportId: callerId.optional() },
  { error: 'must be an object' },
);

/** Records of a flow that succeeded (S4). */
export type SuccessReport = z.input<typeof successReportSchema>;

/** Every problem of a success report. */
export function checkSuccessReport(report: unknown): InputProblem[] {
  return check(successReportSchema, report, '(report)').problems ?? [];
}

// ---- connection status -------------------------------------------------------------------

export const connectionStates = ['online', 'offline'] as const;
export type ConnectionState = (typeof connectionStates)[number];

const connectionStatus = z.enum(connectionStates, { error: 'must be "online" or "offline"' });

/** What a flow or a health check reports about a connection, as its workflow's update receives it. */
export const connectionReportSchema = z.strictObject(
  { environment: entityId, status: connectionStatus, reason: text(reportLimits.reasonLength, false).optional() },
  { error: 'must be an object' },
);
export type ConnectionReport = z.input<typeof connectionReportSchema>;

/** The same, as the client and command line take it: with the connection's id. */
export const connectionStatusRequestSchema = connectionReportSchema.extend({ connection: entityId });
export type ConnectionStatusRequest = z.input<typeof connectionStatusRequestSchema>;

/** Every problem of a connection status report. */
export function checkConnectionReport(report: unknown): InputProblem[] {
  return check(connectionReportSchema, report, '(report)').problems ?? [];
}

export function checkConnectionStatusRequest(request: unknown): InputProblem[] {
  return check(connectionStatusRequestSchema, request, '(report)').problems ?? [];
}

// ---- resolution by a user ----------------------------------------------------------------

const errorIdsMessage = 'must list at least one error id (a positive whole number)';
export const resolveRequestSchema = z.strictObject(
  {
    environment: entityId,
    errorIds: z
      .array(z.number({ error: errorIdsMessage }).int({ error: errorIdsMessage }).positive({ error: errorIdsMessage }).max(Number.MAX_SAFE_INTEGER, { error: errorIdsMessage }), { error: errorIdsMessage })
      .min(1, { error: errorIdsMessage })
      .max(reportLimits.errorsPerReport, { error: `at most ${reportLimits.errorsPerReport} errors at once` }),
    /** Email of the user who resolves them. */
    user: plainAddress,
  },
  { error: 'must be an object' },
);
/**
 * How a person acted, when not on a page, the API or the command line: by a link of an email they
 * received, or of a Slack or Teams message (S45). Herald's server sets it; the HTTP API takes no such field.
 */
export const actedVia = z.enum(actionSources, { error: `must be one of ${actionSources.join(', ')} (where the link was) or left out` });
/** A resolve as Herald's client sends it: the API's request, and how the person acted. */
export const resolveCommandSchema = resolveRequestSchema.extend({ via: actedVia.optional() });
export type ResolveRequest = z.input<typeof resolveCommandSchema>;

export function checkResolveRequest(request: unknown): InputProblem[] {
  return check(resolveCommandSchema, request, '(request)').problems ?? [];
}

function jsonSize(value: unknown): number | undefined {
  try {
    const json = JSON.stringify(value);
    return json === undefined ? undefined : new TextEncoder().encode(json).length;
  } catch {
    return undefined;
  }
}

// ---- requests of the HTTP API ------------------------------------------------------------

/** A report as the HTTP API takes it: the report id may be left out (a random one is used). */
export const errorReportRequestSchema = errorReportSchema.partial({ reportId: true });
/** A report as flows send it: the report's id may be left to Herald (the client and the API give it a random one). */
export type ErrorReportRequest = z.input<typeof errorReportRequestSchema>;

const pageNumberMessage = 'must be a whole number';
/** The filters and the page of `GET /api/v1/errors` (query parameters arrive as text). */
export const errorListQuerySchema = z.strictObject(
  {
    environment: entityId.optional(),
    flow: entityId.optional(),
    status: z.enum(errorStatuses, { error: `must be one of ${errorStatuses.join(', ')}` }).optional(),
    traceKey: text(reportLimits.traceKeyLength, true).optional(),
    /** Only errors older than this error id: the `next` link of the previous page. */
    before: z.coerce.number({ error: pageNumberMessage }).int({ error: pageNumberMessage }).positive({ error: pageNumberMessage }).optional(),
    limit: z.coerce.number({ error: pageNumberMessage }).int({ error: pageNumberMessage }).min(1, { error: 'must be 1 to 1000' }).max(1000, { error: 'must be 1 to 1000' }).optional(),
  },
  { error: 'must be an object' },
);
export type ErrorListQuery = z.output<typeof errorListQuerySchema>;

// ---- assignment ----------------------------------------------------------------------------

/** Assigning errors to a user of the account (S32), by a user who is no monitor. */
export const assignRequestSchema = z.strictObject(
  {
    environment: entityId,
    errorIds: resolveRequestSchema.shape.errorIds,
    /** Email of the user the errors are assigned to. */
    assignee: plainAddress,
    /** Email of the user who assigns them. */
    user: plainAddress,
    /** Names the action: the same request sent twice is one assignment and one email. */
    requestId: callerId.optional(),
  },
  { error: 'must be an object' },
);
/** An assignment as Herald's client sends it: the API's request, and how the person acted. */
export const assignCommandSchema = assignRequestSchema.extend({ via: actedVia.optional() });
export type AssignRequest = z.input<typeof assignCommandSchema>;

export function checkAssignRequest(request: unknown): InputProblem[] {
  return check(assignCommandSchema, request, '(request)').problems ?? [];
}
