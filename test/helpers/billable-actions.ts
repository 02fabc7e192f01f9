import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';

// The package is CommonJS: its default export works under Node's ESM (the bench) and vitest alike.
const EventType = proto.temporal.api.enums.v1.EventType;

/**
 * The actions Temporal Cloud bills for one run, counted from its history: its start, each
 * activity attempt, timer, signal received, update, search-attribute upsert (the version attribute
 * that patched() writes is exempt) or memo upsert, the markers of a workflow task (local
 * activities and version markers: one action for all those one workflow task records, as the
 * server meters them, temporalio/temporal#4905) and continue-as-new. A child run counts in its own
 * history.
 */
export async function billableActions(client: Client, workflowId: string, runId?: string): Promise<Record<string, number>> {
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  const counts: Record<string, number> = {};
  const add = (what: string, n = 1) => (counts[what] = (counts[what] ?? 0) + n);
  const markerTasks = new Set<string>();
  for (const event of history.events ?? []) {
    switch (event.eventType) {
      case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED: add('start'); break;
      case EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED: add('activity attempt', event.activityTaskStartedEventAttributes?.attempt ?? 1); break;
      case EventType.EVENT_TYPE_TIMER_STARTED: add('timer'); break;
      case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED: add('signal'); break;
      case EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED: add('signal sent'); break;
      case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED: add('update'); break;
      case EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: {
        // An upsert of the version attribute alone (patched() writes it) is exempt.
        const fields = Object.keys(event.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ?? {});
        if (fields.some((field) => field !== 'TemporalChangeVersion')) add('search attributes');
        break;
      }
      case EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED: add('memo'); break;
      case EventType.EVENT_TYPE_MARKER_RECORDED: {
        const task = String(event.markerRecordedEventAttributes?.workflowTaskCompletedEventId ?? event.eventId);
        if (!markerTasks.has(task)) add('markers');
        markerTasks.add(task);
        break;
      }
      case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW: add('continue-as-new'); break;
      default:
    }
  }
  return counts;
}

/** The total of {@link billableActions}. */
export const total = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);
