/**
 * Errors in PostgreSQL: storing a report with trace-key auto-resolve (S1, S3), the retry
 * window's outcomes (S5), success reports (S4), resolution by users (S6) and reads.
 * Every status change is conditional on the status it leaves, so racing changes cannot undo
 * each other.
 */
import type { Knex } from 'knex';
import { errorFingerprint } from './fingerprint.js';
import { actingUser, namedErrors } from './acting-user.js';
import { recordAudit } from './audit-store.js';
import { endResolvedSnoozes, joinSnoozes } from './snooze-store.js';
import { newsCycleSql, raiseDigestNews, resolvedStampSql, type NewsStamps } from './digest-news.js';
import { errorKeyOf, isRetryableCode, type ErrorReport } from '../contracts/error-report.js';
import { InputRefusedError } from '../contracts/problems.js';
import type { ErrorStatus, RetryingError } from '../contracts/errors.js';
import type { ActionSource } from '../contracts/email-action.js';

export type { RetryingError } from '../contracts/errors.js';

/** A flow as seen from one environment. */
export interface FlowInEnvironment {
  id: string;
  autoResolve: boolean;
  taskQueue: string | null;
}

/** What storing a report did. */
export interface StoredReport {
  stored: number;
  duplicates: number;
  open: number;
  /** Intermittent errors now in their retry window (S5). */
  retrying: RetryingError[];
  /** Earlier errors of the same trace keys, auto-resolved as superseded (S3) by this transaction. */
  superseded: number;
  /**
   * Earlier errors of the same trace keys that this report supersedes but left to the caller (more
   * than {@link StoreOptions.supersedeAtOnceUpTo}): it supersedes them with {@link ErrorStore.supersede}.
   */
  toSupersede?: number[];
  flowTaskQueue: string | null;
  /**
   * The digest should be told of news (#40): this report raised its environment's flag, or an
   * earlier attempt of it stored errors and may have died before it told.
   */
  tellDigest?: boolean;
}

export interface StoreOptions {
  /**
   * Supersede at most this many earlier errors in the storing transaction; more are returned as
   * `toSupersede` instead, so that the caller of a large report is answered once its errors are
   * stored, not once every earlier one is resolved (default: all at once).
   */
  supersedeAtOnceUpTo?: number;
}

/** Errors of one report's retry window that recovered. */
export interface RecoveredInWindow {
  reportId: string;
  ids: number[];
}

/** An error as the client and the command line show it. */
export interface ErrorView {
  id: number;
  /** The caller's key of the error. */
  errorKey: string;
  environment: string;
  flow: string;
  reportId: string;
  traceKey: string;
  message: string;
  code: string | null;
  step: string | null;
  status: ErrorStatus;
  resolutionReason: string | null;
  resolvedBy: string | null;
  occurredAt: Date;
  reportedAt: Date;
  resolvedAt: Date | null;
  record: unknown;
}

export interface ErrorFilter {
  /** Only errors of this account's environments (S23). */
  account?: string;
  environment?: string;
  flow?: string;
  status?: ErrorStatus;
  traceKey?: string;
  /** Keyset pagination: only errors older than this one (ids are in reporting order). */
  before?: number;
  /** Only these errors. */
  ids?: number[];
  limit?: number;
}

const viewColumns = [
  'id', 'error_key', 'environment_id', 'flow_id', 'report_id', 'trace_key', 'message', 'code', 'step', 'status',
  'resolution_reason', 'resolved_by', 'occurred_at', 'reported_at', 'resolved_at', 'record',
];

/** Errors: storing reports, their retry windows, success reports, resolution by users, and reads. */
export interface ErrorStore {
  /**
   * Finds the flow in the environment's resources (a legacy pair shares them, S18); the input
   * problem instead when the environment or the flow is unknown there.
   */
  findFlow(environment: string, flow: string, trx?: Knex): Promise<FlowInEnvironment>;
  /**
   * Stores a report in one transaction: new errors once each (a repeated id is skipped), then,
   * with auto-resolve on, earlier open or retrying errors of the same trace keys are superseded
   * (past `supersedeAtOnceUpTo` of them, they are returned for the caller to supersede).
   * Throws {@link InputRefusedError} when the environment or flow is unknown.
   */
  storeReport(report: ErrorReport, now: Date, options?: StoreOptions): Promise<StoredReport>;
  /** Auto-resolves these earlier errors as superseded (S3), those still open or retrying. Returns how many changed. */
  supersede(ids: number[], now: Date): Promise<number>;
  /** {@link supersede}, answering too the environments whose digest flag it raised (#40). */
  supersedeTelling(ids: number[], now: Date): Promise<{ superseded: number; raised: string[] }>;
  /** Ends the retry window of these errors as recovered: `auto_resolved`, "retry succeeded". Returns the ids changed. */
  markRecovered(ids: number[], now: Date): Promise<number[]>;
  /**
   * Ends the retry window of these errors as exhausted: they become `open`. Returns the ids
   * changed, and the environments whose digest flag that raised (#40).
   */
  markRetryExhausted(ids: number[]): Promise<{ ids: number[]; raised: string[] }>;
  /** Ends a retry window: recovered errors as {@link markRecovered}, exhausted ones as {@link markRetryExhausted}, at once. */
  closeRetryWindow(recovered: number[], exhausted: number[], now: Date): Promise<{
    recovered: number[];
    exhausted: number[];
    raised: string[];
  }>;
  /**
   * Records that these records of a flow succeeded (S4), where the flow has auto-resolve on:
   * open errors become `auto_resolved` ("record succeeded"); errors in a retry window
   * recover ("retry succeeded"). Returns counts, and per report
   * whose retry window changed, the errors that recovered.
   */
  resolveSucceededRecords(environment: string, flow: string, traceKeys: string[], now: Date): Promise<{
    autoResolveOff: boolean;
    resolved: number;
    recovered: number;
    retryWindows: RecoveredInWindow[];
    /** Whether it raised the environment's digest flag (#40). */
    raised: boolean;
  }>;
  /** Which of these errors are still in their retry window. */
  stillRetrying(ids: number[]): Promise<number[]>;
  /** The environments of these errors. */
  environmentsOf(ids: number[]): Promise<string[]>;
  /**
   * A user resolves errors (S6). The user must be a current user of the environment's account.
   * Returns the ids resolved now (errors already resolved are left as they are).
   */
  resolveByUser(environment: string, ids: number[], userEmail: string, now: Date, via?: ActionSource): Promise<{
    resolved: number[];
    /** Whether it raised the environment's digest flag (#40). */
    raised: boolean;
  }>;
  /** Errors, newest first, filtered; at most `limit` (default 100, at most 10,000). */
  listErrors(filter: ErrorFilter): Promise<ErrorView[]>;
  /** One error; with `account`, only if it belongs to that account (S23). */
  getError(id: number, account?: string): Promise<ErrorView | undefined>;
}

export function createErrorStore(db: Knex): ErrorStore {
  const store: ErrorStore = {
    async findFlow(environment: string, flow: string, trx: Knex = db): Promise<FlowInEnvironment> {
      const env = await trx('environments').where({ id: environment }).whereNull('removed_at').first('resource_group');
      if (!env) throw new InputRefusedError([{ field: 'environment', message: `unknown environment "${environment}"` }]);
      const row = await trx('flows as f')
        .join('integrations as i', 'i.id', 'f.integration_id')
        .where({ 'f.id': flow, 'i.resource_group': env.resource_group })
        .whereNull('f.removed_at')
        .first('f.id', 'f.auto_resolve', 'f.task_queue');
      if (!row) throw new InputRefusedError([{ field: 'flow', message: `unknown flow "${flow}" in environment "${environment}"` }]);
      return { id: row.id, autoResolve: row.auto_resolve, taskQueue: row.task_queue };
    },

    async storeReport(report: ErrorReport, now: Date, options: StoreOptions = {}): Promise<StoredReport> {
      return db.transaction(async (trx) => {
        const { autoResolve, taskQueue } = await store.findFlow(report.environment, report.flow, trx);

        const rows = report.errors.map((error, index) => {
          const intermittent = error.intermittent === true || isRetryableCode(error.code);
          return {
            error_key: errorKeyOf(error) ?? `${report.reportId}#${index}`,
            trace_key: error.traceKey,
            message: error.message,
            code: error.code ?? null,
            step: error.step ?? null,
            intermittent,
            // As JSON text: an array given as an element of a parameter array would become a nested SQL array.
            record: error.record === undefined ? null : JSON.stringify(error.record),
            status: autoResolve && intermittent ? 'retrying' : 'open',
            occurred_at: error.occurredAt ?? now.toISOString(),
            fingerprint: errorFingerprint(error.message, error.fingerprint),
          };
        });
        const stored = await insertReportRows(trx, report, now, rows);
        // Errors of a snoozed trace key or group join the snooze, untold; one that happened its number of times wakes (S46).
        const { joined, woken } = await joinSnoozes(trx, report.environment, report.flow, stored.map((s) => s.id));
        const sleeping = new Set(joined);
        const stamps = stampsOf('opened', [
          ...stored.filter((s) => s.status === 'open' && !sleeping.has(s.id)).map((s) => ({ ...s, environment_id: report.environment })),
          ...woken,
        ]);
        let repeated = false;
        if (stored.length < rows.length) {
          // Rows of this very report already there were stored by an earlier attempt of this call,
          // whose answer was lost (it committed after its attempt timed out, or its worker died):
          // they are this report's, as they would have been. Read in a statement of their own, so
          // that rows committed while the insert waited for them are seen.
          const returned = new Set(stored.map((s) => s.error_key));
          const earlier = await trx.raw<{ rows: typeof stored }>(
            `select id, error_key, trace_key, status from errors
              where environment_id = ? and flow_id = ? and report_id = ? and error_key = any(?::text[])`,
            [report.environment, report.flow, report.reportId, rows.map((r) => r.error_key).filter((key) => !returned.has(key))],
          );
          stored.push(...earlier.rows);
          repeated = earlier.rows.length > 0;
        }

        let superseded = 0;
        let raisedBySuperseding: string[] = [];
        let toSupersede: number[] | undefined;
        if (autoResolve && stored.length > 0) {
          // "Earlier" is a smaller id: the newest error of each trace key stays, the rest are superseded.
          // Two statements of one pass each, whatever the planner estimates: a join of the report with
          // `errors` was planned as a nested loop on a table without statistics (minutes for 10,000).
          const newest = new Map<string, number>();
          for (const s of stored) newest.set(s.trace_key, Math.max(newest.get(s.trace_key) ?? 0, s.id));
          const candidates = await trx.raw<{ rows: { id: number; trace_key: string }[] }>(
            `select id, trace_key from errors
              where flow_id = ? and environment_id = ? and trace_key = any(?::text[]) and status in ('open', 'retrying')`,
            [report.flow, report.environment, [...newest.keys()]],
          );
          const older = candidates.rows.filter((r) => r.id < newest.get(r.trace_key)!).map((r) => r.id);
          // `??`, not a default value: a limit that crossed JSON as Infinity arrives as null.
          if (older.length > (options.supersedeAtOnceUpTo ?? Infinity)) toSupersede = older;
          else ({ superseded, raised: raisedBySuperseding } = await createErrorStore(trx).supersedeTelling(older, now));
        }
        // Still retrying: a success report may already have recovered some (S5).
        const inWindow = stored.filter((s) => s.status === 'retrying').map((s) => s.id);
        const retryingIds = new Set(inWindow.length === 0 ? [] : (await trx('errors').whereIn('id', inWindow).where({ status: 'retrying' }).select('id')).map((r) => r.id as number));
        const news = stored.some((s) => s.status === 'open') || superseded > 0;
        const raised = raisedBySuperseding.length > 0 || (news && (await raiseDigestNews(trx, report.environment, stamps.get(report.environment))));
        return {
          stored: stored.length,
          duplicates: report.errors.length - stored.length,
          open: stored.filter((s) => s.status === 'open').length,
          retrying: stored.filter((s) => retryingIds.has(s.id)).map((s) => ({ id: s.id, errorKey: s.error_key, traceKey: s.trace_key })),
          superseded,
          ...(toSupersede && { toSupersede }),
          flowTaskQueue: taskQueue,
          ...((raised || (news && repeated)) && { tellDigest: true }),
        };
      });
    },

    async supersede(ids: number[], now: Date): Promise<number> {
      return (await store.supersedeTelling(ids, now)).superseded;
    },

    /** {@link supersede}, with the environments whose digest's flag it raised (#40). */
    async supersedeTelling(ids: number[], now: Date): Promise<{ superseded: number; raised: string[] }> {
      if (ids.length === 0) return { superseded: 0, raised: [] };
      return inTransaction(db, async (trx) => {
        const result = await trx.raw<{ rows: StampRow[] }>(
          `update errors set status = 'auto_resolved', resolution_reason = 'superseded', resolved_at = ?, resolution_notified_cycle_id = ${resolvedStampSql}
            where id = any(?::bigint[]) and status in ('open', 'retrying')
            returning id, environment_id, resolution_notified_cycle_id as stamp`,
          [now, ids],
        );
        await endResolvedSnoozes(trx, result.rows.map((r) => r.id));
        return { superseded: result.rows.length, raised: await raiseEach(trx, result.rows.map((r) => r.environment_id), stampsOf('resolved', result.rows)) };
      });
    },

    async markRecovered(ids: number[], now: Date): Promise<number[]> {
      if (ids.length === 0) return [];
      const rows = await db('errors')
        .whereIn('id', ids)
        .where({ status: 'retrying' })
        .update({ status: 'auto_resolved', resolution_reason: 'retry succeeded', resolved_at: now })
        .returning('id');
      return rows.map((r) => r.id);
    },

    /** Errors whose retry window closed become open: news for their digest, whose flag is raised (#40). */
    async markRetryExhausted(ids: number[]): Promise<{ ids: number[]; raised: string[] }> {
      if (ids.length === 0) return { ids: [], raised: [] };
      return inTransaction(db, async (trx) => {
        const rows: StampRow[] = await trx('errors')
          .whereIn('id', ids)
          .where({ status: 'retrying' })
          // A snoozed error stays untold until its snooze ends (S46).
          .update({ status: 'open', notified_cycle_id: trx.raw(`case when snooze_id is null then ${newsCycleSql('errors.environment_id')} end`) })
          .returning(['id', 'environment_id', 'notified_cycle_id as stamp']);
        return { ids: rows.map((r) => r.id), raised: await raiseEach(trx, rows.map((r) => r.environment_id), stampsOf('opened', rows)) };
      });
    },

    async closeRetryWindow(recovered: number[], exhausted: number[], now: Date): Promise<{ recovered: number[]; exhausted: number[]; raised: string[] }> {
      return db.transaction(async (trx) => {
        const within = createErrorStore(trx);
        const recoveredIds = await within.markRecovered(recovered, now);
        // A recovered error is resolved: a snooze with none of its errors left open ends (S46).
        await endResolvedSnoozes(trx, recoveredIds);
        const opened = await within.markRetryExhausted(exhausted);
        return { recovered: recoveredIds, exhausted: opened.ids, raised: opened.raised };
      });
    },

    async resolveSucceededRecords(environment: string, flow: string, traceKeys: string[], now: Date) {
      return db.transaction(async (trx) => {
        const found = await store.findFlow(environment, flow, trx);
        if (!found.autoResolve) return { autoResolveOff: true, resolved: 0, recovered: 0, retryWindows: [] as RecoveredInWindow[], raised: false };
        const scope = () =>
          trx('errors').where({ environment_id: environment, flow_id: flow }).whereIn('trace_key', traceKeys);
        const resolved: StampRow[] = await scope()
          .where({ status: 'open' })
          .update({ status: 'auto_resolved', resolution_reason: 'record succeeded', resolved_at: now, resolution_notified_cycle_id: trx.raw(resolvedStampSql) })
          .returning(['id', 'environment_id', 'resolution_notified_cycle_id as stamp']);
        const recovered = await scope()
          .where({ status: 'retrying' })
          .update({ status: 'auto_resolved', resolution_reason: 'retry succeeded', resolved_at: now })
          .returning(['id', 'report_id']);
        await endResolvedSnoozes(trx, [...resolved, ...recovered].map((r) => Number(r.id)));
        return {
          autoResolveOff: false,
          resolved: resolved.length,
          recovered: recovered.length,
          retryWindows: byReport(recovered as { id: number; report_id: string }[]),
          raised: resolved.length > 0 && (await raiseDigestNews(trx, environment, stampsOf('resolved', resolved).get(environment))),
        };
      });
    },

    async environmentsOf(ids: number[]): Promise<string[]> {
      if (ids.length === 0) return [];
      return db('errors').whereIn('id', ids).distinct().pluck('environment_id');
    },

    async stillRetrying(ids: number[]): Promise<number[]> {
      if (ids.length === 0) return [];
      return (await db('errors').whereIn('id', ids).where({ status: 'retrying' }).select('id')).map((r) => r.id);
    },

    async resolveByUser(
      environment: string,
      ids: number[],
      userEmail: string,
      now: Date,
      via?: ActionSource,
    ): Promise<{ resolved: number[]; raised: boolean }> {
      const user = await actingUser(db, environment, userEmail, 'resolve');
      await namedErrors(db, environment, ids);
      return db.transaction(async (trx) => {
        const rows: StampRow[] = await trx('errors')
          .whereIn('id', ids)
          .whereIn('status', ['open', 'retrying'])
          .update({ status: 'resolved', resolution_reason: 'resolved by user', resolved_by: user.email, resolved_via: via ?? null, resolved_at: now, resolution_notified_cycle_id: trx.raw(resolvedStampSql) })
          .returning(['id', 'environment_id', 'resolution_notified_cycle_id as stamp']);
        await endResolvedSnoozes(trx, rows.map((r) => r.id));
        if (rows.length > 0) {
          await recordAudit(trx, {
            account: user.account,
            actor: user.email,
            action: 'resolved',
            kind: 'errors',
            entity: `${environment}/${rows.length === 1 ? `error ${rows[0]!.id}` : `${rows.length} errors`}`,
            detail: { errors: rows.map((r) => Number(r.id)).slice(0, 100), ...(via && { via }) },
          });
        }
        return { resolved: rows.map((r) => r.id), raised: rows.length > 0 && (await raiseDigestNews(trx, environment, stampsOf('resolved', rows).get(environment))) };
      });
    },

    async listErrors(filter: ErrorFilter): Promise<ErrorView[]> {
      const query = db('errors').select(viewColumns).orderBy('id', 'desc').limit(Math.min(filter.limit ?? 100, 10_000));
      if (filter.environment) query.where({ environment_id: filter.environment });
      if (filter.flow) query.where({ flow_id: filter.flow });
      if (filter.status) query.where({ status: filter.status });
      if (filter.traceKey) query.where({ trace_key: filter.traceKey });
      if (filter.before !== undefined) query.where('id', '<', filter.before);
      if (filter.ids) query.whereIn('id', filter.ids);
      if (filter.account) query.whereIn('environment_id', db('environments').where({ account_id: filter.account }).select('id'));
      return (await query).map(toView);
    },

    async getError(id: number, account?: string): Promise<ErrorView | undefined> {
      const query = db('errors').where({ id });
      if (account) query.whereIn('environment_id', db('environments').where({ account_id: account }).select('id'));
      const row = await query.first(viewColumns);
      return row && toView(row);
    },
  };
  return store;
}


function toView(row: Record<string, unknown>): ErrorView {
  return {
    id: row.id as number,
    errorKey: row.error_key as string,
    environment: row.environment_id as string,
    flow: row.flow_id as string,
    reportId: row.report_id as string,
    traceKey: row.trace_key as string,
    message: row.message as string,
    code: row.code as string | null,
    step: row.step as string | null,
    status: row.status as ErrorStatus,
    resolutionReason: row.resolution_reason as string | null,
    resolvedBy: row.resolved_by as string | null,
    occurredAt: row.occurred_at as Date,
    reportedAt: row.reported_at as Date,
    resolvedAt: row.resolved_at as Date | null,
    record: row.record,
  };
}

function byReport(rows: { id: number; report_id: string }[]): RecoveredInWindow[] {
  const windows = new Map<string, number[]>();
  for (const row of rows) windows.set(row.report_id, [...(windows.get(row.report_id) ?? []), row.id]);
  return [...windows].map(([reportId, ids]) => ({ reportId, ids }));
}

type StoredRow = { id: number; error_key: string; trace_key: string; status: ErrorStatus; stamp?: string | null };
type ReportRow = Record<(typeof reportColumns)[number], string | boolean | null>;
const reportColumns = ['error_key', 'trace_key', 'message', 'code', 'step', 'intermittent', 'record', 'status', 'occurred_at', 'fingerprint'] as const;

/**
 * Inserts a report's rows in one statement, however many: each column travels as one array
 * parameter. Rows whose key is already stored are skipped. A report is nearly always new, so the
 * insert first goes without ON CONFLICT (which probes the unique index once more per row, about a
 * sixth of the statement); a repeated key fails it at once, and it is made again with ON CONFLICT.
 */
async function insertReportRows(trx: Knex.Transaction, report: ErrorReport, now: Date, rows: ReportRow[]): Promise<StoredRow[]> {
  // Arrays with nulls in them, which knex's binding types leave out.
  const columns = reportColumns.map((column) => rows.map((row) => row[column])) as unknown as Knex.Value[];
  const insert = (onConflict: string) =>
    trx.raw<{ rows: StoredRow[] }>(
      `insert into errors (environment_id, flow_id, report_id, reported_at, error_key, trace_key, message, code, step,
                           intermittent, record, status, occurred_at, fingerprint, notified_cycle_id)
       select ?, ?, ?, ?, r.error_key, r.trace_key, r.message, r.code, r.step, r.intermittent, r.record::jsonb, r.status, r.occurred_at, r.fingerprint,
              case when r.status = 'open' then ${newsCycleSql('?')} end
         from unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::boolean[], ?::text[], ?::text[], ?::timestamptz[], ?::text[])
              as r(error_key, trace_key, message, code, step, intermittent, record, status, occurred_at, fingerprint)
       ${onConflict}
       returning id, error_key, trace_key, status, notified_cycle_id as stamp`,
      [report.environment, report.flow, report.reportId, now, report.environment, ...columns],
    );
  await trx.raw('savepoint report_rows');
  try {
    const { rows: stored } = await insert('');
    await trx.raw('release savepoint report_rows');
    return stored;
  } catch (error) {
    if ((error as { code?: string }).code !== '23505') throw error;
    await trx.raw('rollback to savepoint report_rows');
    return (await insert('on conflict (environment_id, flow_id, error_key) do nothing')).rows;
  }
}

/** Runs `work` in a transaction: `db`'s own when it is one, else a new one. */
const inTransaction = <T>(db: Knex, work: (trx: Knex) => Promise<T>): Promise<T> => (db.isTransaction ? work(db) : db.transaction(work));

/** A row a statement stamped with the cycle that will tell it (#40): its stamp, null if none. */
type StampRow = { id: number; environment_id: string; stamp?: string | number | null };

/** The stamps of rows a statement opened or resolved, by environment. */
function stampsOf(kind: 'opened' | 'resolved', rows: StampRow[]): Map<string, NewsStamps> {
  const stamps = new Map<string, NewsStamps>();
  for (const row of rows) {
    if (row.stamp === null || row.stamp === undefined) continue;
    const of = stamps.get(row.environment_id) ?? { opened: [], resolved: [], cycles: [] };
    of[kind].push(row.id);
    if (!of.cycles.includes(Number(row.stamp))) of.cycles.push(Number(row.stamp));
    stamps.set(row.environment_id, of);
  }
  return stamps;
}

/** Raises the digest flag of each environment named (once each), with the stamps written there; answers those it raised. */
async function raiseEach(trx: Knex, environments: string[], stamps: Map<string, NewsStamps>): Promise<string[]> {
  const raised: string[] = [];
  for (const environment of [...new Set(environments)].sort()) if (await raiseDigestNews(trx, environment, stamps.get(environment))) raised.push(environment);
  return raised;
}
