/**
 * What an operator sees of a run in the Temporal UI: custom search attributes to filter by
 * (environment, flow, outcome) and a memo with a one-line summary.
 *
 *   temporal workflow list --query 'HeraldEnvironment = "acme-production" AND HeraldOutcome = "exhausted"'
 */
import { SearchAttributeType, defineSearchAttributeKey } from '@temporalio/common';
import { takesPatch } from './patches.js';
import { upsertMemo, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';

export const HeraldEnvironment = defineSearchAttributeKey('HeraldEnvironment', SearchAttributeType.KEYWORD);
export const HeraldFlow = defineSearchAttributeKey('HeraldFlow', SearchAttributeType.KEYWORD);
export const HeraldOutcome = defineSearchAttributeKey('HeraldOutcome', SearchAttributeType.KEYWORD);

/** Every custom search attribute Herald sets; the namespace must have them registered. */
export const heraldSearchAttributes = [HeraldEnvironment, HeraldFlow, HeraldOutcome];

export interface RunLabels {
  environment?: string;
  flow?: string;
  /** Where the run stands or how it ended, e.g. "retrying", "exhausted", "offline". */
  outcome?: string;
  /** One line for people, shown as the run's memo. */
  summary?: string;
}

/**
 * Labels the current run. Only changed values are written. Runs started before Herald labelled
 * its runs replay without the labels (the patch keeps their histories deterministic).
 */
export function labelRun(labels: RunLabels): void {
  if (labels.summary !== undefined) upsertMemo({ summary: labels.summary });
  if (!takesPatch('herald-run-labels')) return;
  upsertChangedSearchAttributes(labels);
}

/** Labels the current run, for workflow types that have always been labelled (no patch marker). */
export function relabel(labels: RunLabels): void {
  if (labels.summary !== undefined) upsertMemo({ summary: labels.summary });
  upsertChangedSearchAttributes(labels);
}

function upsertChangedSearchAttributes(labels: RunLabels): void {
  const current = workflowInfo().typedSearchAttributes;
  const updates = (
    [
      [HeraldEnvironment, labels.environment],
      [HeraldFlow, labels.flow],
      [HeraldOutcome, labels.outcome],
    ] as const
  ).filter(([key, value]) => value !== undefined && current.get(key) !== value);
  if (updates.length > 0) upsertSearchAttributes(updates.map(([key, value]) => ({ key, value: value! })));
}

/**
 * The labels a report's run is started with (free: no action of their own): its environment and
 * flow, the outcome "stored" (changed by the run only on a refusal), and a memo.
 */
export function reportLabelsAtStart(report: { environment: string; flow: string; errors: unknown[] }) {
  return {
    typedSearchAttributes: [
      { key: HeraldEnvironment, value: report.environment },
      { key: HeraldFlow, value: report.flow },
      { key: HeraldOutcome, value: 'stored' },
    ],
    memo: { summary: `report of ${report.errors.length} error${report.errors.length === 1 ? '' : 's'}` },
  };
}
