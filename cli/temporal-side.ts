/**
 * What the command line needs of Temporal, in one module that cli/commands.ts loads when a command
 * first uses Temporal: the SDK's client and Herald's workflow definitions are most of a start-up,
 * and the database-only commands (tokens, users, errors list, …) never need them.
 */
export { Connection } from '@temporalio/client';
export { createTemporalClient } from '../client/payload-codec.js';
export { HeraldClient } from '../client/herald-client.js';
export { asInputError } from '../client/herald-input-error.js';
export { updateUntilTaken } from '../client/updates.js';
export { ensureDigestWorkflows } from '../admin/digests.js';
export { digestStatusQuery, remindNowUpdate, runCycleNowUpdate, setIntervalUpdate } from '../workflows/environment-digest.js';
export { connectionStatusQuery } from '../workflows/connection-status.js';
