/**
 * What bounds the takeover of a sending attempt whose worker is paused, starved or cut off
 * (S44): its retry starts on a live worker within the heartbeat timeout (20 s) plus the first
 * retry's 2 s.
 *
 * A worker's open polls outlive its pause: the server can hand them a task for as long as a long
 * poll lasts (a minute by default), and an activity task handed to a paused worker is started,
 * as far as the server knows, and waits for a heartbeat timeout of its own. Retries that met the
 * paused worker's polls one after another took 74 s (`npm run bench -- takeover`). So the server
 * ends each long poll sooner than any retry can come (longPollExpiration), and the worker's
 * heartbeats reach the server often enough (heartbeatThrottle) that the first retry comes no
 * sooner than 18 s after the pause.
 */
export const takeoverSettings = {
  /** The workers' maxHeartbeatThrottleInterval: a heartbeat reaches the server every 2 s at most. */
  heartbeatThrottle: '2 seconds',
  /**
   * The server's `matching.longPollExpirationInterval`: below 18 s, with a margin. Every Temporal
   * server Herald starts has it; a production cluster needs it in its dynamic config.
   */
  longPollExpiration: '10s',
} as const;

/** The dynamic-config value a dev server takes on its command line (`--dynamic-config-value`). */
export const longPollExpirationFlag = ['--dynamic-config-value', `matching.longPollExpirationInterval="${takeoverSettings.longPollExpiration}"`];
