/**
 * Every patch of Herald's workflow code, where it stands, and when it moves on. A patch keeps
 * runs that older code started deterministic; each one is retired in three steps:
 *
 * 1. `patched(id)`: old runs replay the old path, new runs take the new one.
 * 2. `deprecatePatch(id)` (stage `deprecated`): every run takes the new path, and still records
 *    the marker, so a worker of the previous release that replays a new history during a rolling
 *    deploy takes the new path too. Allowed once no open run has passed the patch's point without
 *    it: for a digest, a day after the release that added it is everywhere, since a digest run
 *    continues as new after 96 cycles or a day, whichever comes first (plus one interval, which an
 *    operator may have made longer). Check before deploying:
 *      temporal workflow count --query 'WorkflowType = "<workflow>" AND ExecutionStatus = "Running" AND StartTime < "<added>"'
 * 3. Removed, with the old path, in the release after the one that deprecated it.
 *
 * test/patches.test.ts checks that this register and the code agree, and the recorded
 * histories of test/histories replay against the code (test/replay.test.ts). A history recorded
 * before a patch that is now deprecated stands for a run that can no longer be open: it leaves the
 * replay set with the patch's deprecation, and a history with the marker takes its place.
 */
import { deprecatePatch, patched } from '@temporalio/workflow';

export interface PatchEntry {
  /** The workflow type whose code calls it. */
  workflow: string;
  /** What the new path does. */
  change: string;
  /** Release (package version) and day of the release that added it. */
  added: { release: string; on: string };
  stage: 'patched' | 'deprecated';
  /** When it moves on: the day from which the next step is allowed, and what that step is. */
  next: string;
}

export const patches = {
  'recovery-while-offline-is-told': {
    workflow: 'connectionStatus',
    change: 'a recovery reported while the offline email is being sent is emailed too (S14); one whose offline was refused for good is not',
    added: { release: '0.2.0', on: '2026-12-07' },
    stage: 'patched',
    next: 'deprecate once no connection run started before this release is open (they continue as new after 500 reports)',
  },
  'herald-run-labels': {
    workflow: 'connectionStatus, errorBatch, intermittentRetry, environmentDigest',
    change: 'runs set the HeraldEnvironment, HeraldFlow and HeraldOutcome search attributes',
    added: { release: '0.1.0', on: '2026-11-27' },
    stage: 'patched',
    next: 'deprecate with the legacy report types: connection runs continue as new only after 1,000 reports, so an unlabelled one may be open for months',
  },
  'store-report-locally': {
    workflow: 'errorReport',
    change: 'a report is stored by a local activity, not a scheduled one',
    added: { release: '0.1.0', on: '2026-11-27' },
    stage: 'deprecated',
    next: 'remove in the release after 0.2.0 (a report run lasts its retry window, 5 minutes by default)',
  },
  'deferred-deliveries': {
    workflow: 'environmentDigest',
    change: 'between cycles, the digest sends the deliveries deferred by a 4xx when they are due (S34)',
    added: { release: '0.1.0', on: '2026-11-27' },
    stage: 'deprecated',
    next: 'remove in the release after 0.2.0',
  },
  'daily-reminders': {
    workflow: 'environmentDigest',
    change: 'after a cycle, the digest looks for errors to remind of, hourly (S31)',
    added: { release: '0.1.0', on: '2026-11-27' },
    stage: 'deprecated',
    next: 'remove in the release after 0.2.0',
  },
  'digest-interval-as-input': {
    workflow: 'environmentDigest',
    change: 'the interval is the input\'s, not asked of the workers after each cycle',
    added: { release: '0.1.0', on: '2026-11-27' },
    stage: 'deprecated',
    next: 'remove in the release after 0.2.0',
  },
  'answer-run-now-before-continuing': {
    workflow: 'environmentDigest',
    change: 'a run-now request pending at the end of a run is answered before it continues as new',
    added: { release: '0.1.0', on: '2026-11-27' },
    stage: 'deprecated',
    next: 'remove in the release after 0.2.0',
  },
  'answer-requests-at-stop': {
    workflow: 'environmentDigest',
    change: 'a stop answers the remind-now requests and refuses the run-now requests still waiting',
    added: { release: '0.1.0', on: '2026-11-27' },
    stage: 'deprecated',
    next: 'remove in the release after 0.2.0',
  },
  'runs-end-within-a-day': {
    workflow: 'environmentDigest',
    change: 'a digest run continues as new after a day even when it has run fewer than 96 cycles (an interval longer than 15 minutes)',
    added: { release: '0.2.0', on: '2026-12-02' },
    stage: 'patched',
    next: 'deprecate from the day after 0.2.0 is everywhere, once the count above finds no older digest run',
  },
  'quiet-cycles-cost-a-timer': {
    workflow: 'environmentDigest',
    change: 'a cycle with nothing to send is fixed and completed by one activity, and relabels the run only when it ends a stretch of news ("nothing new since cycle N")',
    added: { release: '0.3.0', on: '2026-12-03' },
    stage: 'patched',
    next: 'deprecate from the day after 0.3.0 is everywhere, once no digest run started before it is open (a run lasts a day at most)',
  },
  'fix-cycles-locally': {
    workflow: 'environmentDigest',
    change: 'a cycle is fixed by a local activity inside the workflow task its timer woke, not a scheduled one (one workflow task per quiet cycle)',
    added: { release: '0.3.0', on: '2026-12-03' },
    stage: 'patched',
    next: 'deprecate from the day after 0.3.0 is everywhere, once no digest run started before it is open (a run lasts a day at most)',
  },
  'requests-leave-the-timer': {
    workflow: 'environmentDigest',
    change: 'a request (run-now, remind-now, interval, stop) wakes the digest without cancelling the timer it sleeps on; the timer is slept on again while its time stands',
    added: { release: '0.3.0', on: '2026-12-06' },
    stage: 'patched',
    next: 'deprecate from the day after 0.3.0 is everywhere, once no digest run started before it is open (a run lasts a day at most)',
  },
  'reports-leave-the-timer': {
    workflow: 'connectionStatus',
    change: 'a report wakes the connection\'s workflow without cancelling the timer of its offline deadline; the timer is slept on again while the deadline stands',
    added: { release: '0.3.0', on: '2026-12-06' },
    stage: 'patched',
    next: 'deprecate once no connection run started before 0.3.0 is open: a run continues as new only after 500 reports, so count them first (the query above, WorkflowType = "connectionStatus")',
  },
  'count-cycles-not-wakes': {
    workflow: 'environmentDigest',
    change: 'a run continues as new after its cycles per run counting the cycles it ran, not every wake (an interval change, a look for reminders, deferred deliveries); each early continue-as-new was one more chance for an update to meet a closing task',
    added: { release: '0.3.0', on: '2026-12-06' },
    stage: 'patched',
    next: 'deprecate from the day after 0.3.0 is everywhere, once no digest run started before it is open (a run lasts a day at most)',
  },
  'quiet-cycles-sleep': {
    workflow: 'environmentDigest',
    change: 'a cycle with no news told (the news signal), no request and no rhythm falling due runs no fix: it sleeps again on its timer alone (one action per quiet cycle), and looks anyway every 4 hours',
    added: { release: '0.3.0', on: '2026-12-06' },
    stage: 'patched',
    next: 'deprecate from the day after 0.3.0 is everywhere, once no digest run started before it is open (a run lasts a day at most)',
  },
  'reminder-looks-when-due': {
    workflow: 'environmentDigest',
    change: 'a look for reminders says when the next may find someone due (an error passing the threshold, a day after the earliest reminded, quiet hours ending), and the digest looks then instead of hourly; with nothing open, at the first cycle with new errors; and when the reminders a look left for later are due, the digest tries them then',
    added: { release: '0.3.0', on: '2026-12-07' },
    stage: 'patched',
    next: 'deprecate from the day after 0.3.0 is everywhere, once no digest run started before it is open (a run lasts a day at most)',
  },
  'paced-retention': {
    workflow: 'retention',
    change: 'between rounds that leave more to delete, retention pauses as long as the round took (a second at least)',
    added: { release: '0.3.0', on: '2026-12-03' },
    stage: 'patched',
    next: 'deprecate once no retention run started before 0.3.0 is open (a run lasts minutes; a day after 0.3.0 is everywhere)',
  },
} as const satisfies Record<string, PatchEntry>;

export type PatchId = keyof typeof patches;

/**
 * Whether this run takes the path `id` added: `patched` for a patch in that stage, and always
 * true for a deprecated one (whose marker is still recorded). Workflow code asks through this, so
 * that moving a patch on is a change of this register.
 */
export function takesPatch(id: PatchId): boolean {
  if (patches[id].stage === 'deprecated') {
    deprecatePatch(id);
    return true;
  }
  return patched(id);
}
