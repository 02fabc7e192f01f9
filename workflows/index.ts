/** Every workflow the Herald worker runs. */
export { errorBatch } from './error-batch.js';
export { intermittentRetry } from './intermittent-retry.js';
export { recordSuccesses } from './record-successes.js';
export { resolveErrors } from './resolve-errors.js';
export { environmentDigest } from './environment-digest.js';
export { connectionStatus } from './connection-status.js';
