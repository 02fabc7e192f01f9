/** Every workflow the Herald worker runs. */
export { errorReport } from './error-report.js';
export { retryWindow } from './retry-window.js';
export { recordSuccesses } from './record-successes.js';
export { resolveErrors } from './resolve-errors.js';
export { assignErrors } from './assign-errors.js';
export { environmentDigest } from './environment-digest.js';
export { connectionStatus } from './connection-status.js';
export { retention } from './retention.js';
// Earlier releases' report and retry-window types: runs they started replay and finish here.
export { errorBatch } from './legacy/error-batch.js';
export { intermittentRetry } from './legacy/intermittent-retry.js';
