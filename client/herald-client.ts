import { WithStartWorkflowOperation, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client, type WorkflowHandle, type WorkflowStartOptions } from '@temporalio/client';
import { randomUUID } from 'node:crypto';
import {
  checkConnectionStatusRequest,
  checkAssignRequest,
  checkErrorReport,
  checkResolveRequest,
  checkSuccessReport,
  type AssignRequest,
  type ConnectionStatusRequest,
  type ErrorReportRequest,
  type InputProblem,
} from '../contracts/error-report.js';
import { errorReport, storedUpdate, type ReportReceipt } from '../workflows/error-report.js';
import { recordSuccesses, type RecordSuccessesResult } from '../workflows/record-successes.js';
import { assignErrors, assignedUpdate } from '../workflows/assign-errors.js';
import { resolveErrors } from '../workflows/resolve-errors.js';
import { connectionStatus, reportStatusUpdate } from '../workflows/connection-status.js';
import {
  connectionStatusWorkflowId,
  assignErrorsWorkflowId,
  errorReportWorkflowId,
  recordSuccessesWorkflowId,
  resolveErrorsWorkflowId,
  environmentDigestWorkflowId,
} from '../workflows/workflow-ids.js';
import { digestNewsSignal } from '../workflows/digest-contract.js';
import { reportLabelsAtStart } from '../workflows/run-labels.js';
import { asInputError, HeraldInputError } from './herald-input-error.js';
import { updateUntilTaken } from './updates.js';
import type { SuccessReport } from '../contracts/error-report.js';

export interface HeraldClientOptions {
  /** A Temporal client connected to Herald's namespace. */
  temporal: Client;
  /** Herald's task queue (HERALD_TASK_QUEUE). */
  taskQueue?: string;
}

/**
 * The client that flows and operators use. Reports go through Temporal workflows and return
 * when Herald has stored them; bad input throws {@link HeraldInputError} naming the field.
 */
export class HeraldClient {
  private readonly temporal: Client;
  private readonly taskQueue: string;

  constructor(options: HeraldClientOptions) {
    this.temporal = options.temporal;
    this.taskQueue = options.taskQueue ?? 'herald';
  }

  /**
   * Reports the errors of one flow run (S1). Returns once they are stored durably, without
   * waiting for the retry window of intermittent errors.
   */
  async reportErrors(report: ErrorReportRequest): Promise<ReportReceipt> {
    refuseUnlessObject(report, 'report');
    const complete = { ...report, reportId: report.reportId ?? randomUUID() };
    refuse(checkErrorReport(complete));
    const workflowId = errorReportWorkflowId(complete.environment, complete.flow, complete.reportId);
    // One call starts the run (or joins the running one) and waits for its `stored` update.
    const start = new WithStartWorkflowOperation(errorReport, {
      ...reportLabelsAtStart(complete),
      workflowId,
      taskQueue: this.taskQueue,
      args: [complete],
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
    });
    try {
      return await this.temporal.workflow.executeUpdateWithStart(storedUpdate, { startWorkflowOperation: start });
    } catch (error) {
      const handle = await start.workflowHandle().catch(() => this.temporal.workflow.getHandle<typeof errorReport>(workflowId));
      const refused = asInputError(error);
      if (refused) throw refused;
      // The run already ended (a repeat of a finished report): its result says what was stored.
      const { retry, ...receipt } = await this.resultOf(handle);
      return receipt;
    }
  }

  /** Reports records of a flow that succeeded (S4): their errors auto-resolve where the flow allows it. */
  async reportSuccesses(report: SuccessReport): Promise<RecordSuccessesResult> {
    refuseUnlessObject(report, 'report');
    refuse(checkSuccessReport(report));
    const reportId = report.reportId ?? randomUUID();
    return this.run(recordSuccesses, recordSuccessesWorkflowId(report.environment, report.flow, reportId), {
      environment: report.environment,
      flow: report.flow,
      traceKeys: report.traceKeys,
      reportId,
    });
  }

  /**
   * Reports a connection's status (S14): `offline` (with a reason) or `online`. Repeats of the
   * current status change nothing; a real change is emailed to the connection's subscribers.
   */
  async reportConnectionStatus(report: ConnectionStatusRequest): Promise<{ changed: boolean }> {
    refuseUnlessObject(report, 'report');
    refuse(checkConnectionStatusRequest(report));
    const handle = await this.startOrJoin(connectionStatus, connectionStatusWorkflowId(report.connection), { connection: report.connection });
    try {
      const args = [{ environment: report.environment, status: report.status, ...(report.reason !== undefined && { reason: report.reason }) }] as const;
      return await updateUntilTaken(() => handle.executeUpdate(reportStatusUpdate, { args: [...args] }));
    } catch (error) {
      throw asInputError(error) ?? error;
    }
  }

  /**
   * Tells the environment's digest that it has news (#40). A digest that is not running has
   * nobody to tell: when it starts, its first cycle looks.
   */
  async tellDigest(environment: string): Promise<void> {
    try {
      await this.temporal.workflow.getHandle(environmentDigestWorkflowId(environment)).signal(digestNewsSignal);
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) throw error;
    }
  }

  /** A user resolves errors (S6). Returns the ids resolved by this call. */
  async resolveErrors(request: { environment: string; errorIds: number[]; user: string }): Promise<number[]> {
    refuseUnlessObject(request, 'request');
    refuse(checkResolveRequest(request));
    const { resolved } = await this.run(resolveErrors, resolveErrorsWorkflowId(request.environment, randomUUID()), request);
    return resolved;
  }

  /**
   * A user assigns errors to a user of the account (S32); the assignee is emailed at once, once
   * per request (`requestId` names it; default: random). Returns the ids assigned.
   */
  async assignErrors(request: AssignRequest): Promise<number[]> {
    refuseUnlessObject(request, 'request');
    const complete = { ...request, requestId: request.requestId ?? randomUUID() };
    refuse(checkAssignRequest(complete));
    const start = new WithStartWorkflowOperation(assignErrors, {
      workflowId: assignErrorsWorkflowId(complete.environment, complete.requestId),
      taskQueue: this.taskQueue,
      args: [complete],
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
    });
    try {
      // Answers when the assignment is recorded; the email follows without the caller waiting for it.
      return (await this.temporal.workflow.executeUpdateWithStart(assignedUpdate, { startWorkflowOperation: start })).assigned;
    } catch (error) {
      const refused = asInputError(error);
      if (refused) throw refused;
      const handle = await start.workflowHandle().catch(() => this.temporal.workflow.getHandle<typeof assignErrors>(start.options.workflowId));
      return (await this.resultOf(handle)).assigned;
    }
  }

  /** Starts a workflow under a business id and returns its result. */
  private async run<A, R>(workflow: (arg: A) => Promise<R>, workflowId: string, arg: A): Promise<R> {
    return this.resultOf(await this.startOrJoin(workflow, workflowId, arg));
  }

  /**
   * Starts a workflow under a business id. A repeat of a running or completed request joins it
   * instead of starting another; one that failed may run again.
   */
  private async startOrJoin<A, R>(
    workflow: (arg: A) => Promise<R>,
    workflowId: string,
    arg: A,
    labels: Pick<WorkflowStartOptions, 'typedSearchAttributes' | 'memo'> = {},
  ): Promise<WorkflowHandle<(arg: A) => Promise<R>>> {
    try {
      return await this.temporal.workflow.start(workflow, {
        ...labels,
        workflowId,
        taskQueue: this.taskQueue,
        args: [arg],
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
      });
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
      return this.temporal.workflow.getHandle(workflowId);
    }
  }

  private async resultOf<A, R>(handle: WorkflowHandle<(arg: A) => Promise<R>>): Promise<R> {
    try {
      return (await handle.result()) as R;
    } catch (error) {
      throw asInputError(error) ?? error;
    }
  }
}

/** A call's argument that is no object at all (null, a string, an array) is refused by name, not met with a TypeError. */
function refuseUnlessObject(input: unknown, name: string): void {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new HeraldInputError([{ field: `(${name})`, message: `must be an object, not ${input === null ? 'null' : Array.isArray(input) ? 'an array' : typeof input}` }]);
  }
}

function refuse(problems: InputProblem[]): void {
  if (problems.length > 0) throw new HeraldInputError(problems);
}
