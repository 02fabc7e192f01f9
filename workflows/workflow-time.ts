/**
 * The current workflow time. Inside a workflow the SDK replaces `Date` with the time of the
 * workflow task being processed, recorded in history, so this is deterministic on replay.
 */
export function workflowNow(): number {
  // eslint-disable-next-line no-restricted-properties
  return Date.now();
}
