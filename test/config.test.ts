import { describe, expect, it } from 'vitest';
import { parseDuration } from '../config/duration.js';
import { ConfigError, loadConfig } from '../config/config.js';

describe('configuration, read from the environment', () => {
  it('reads durations as Herald writes them: 250ms, 90s, 15m, 1h, or bare milliseconds', () => {
    expect([parseDuration('250ms'), parseDuration('90s'), parseDuration('15m'), parseDuration('1h'), parseDuration('1500')]).toEqual([250, 90_000, 900_000, 3_600_000, 1_500]);
    for (const bad of ['', 'often', '5 minutes', '1.5h', '-1s', '1d', 'm']) expect(parseDuration(bad), bad).toBeUndefined();
  });

  it('has a default for everything, and reads each variable it is given', () => {
    expect(loadConfig({})).toMatchObject({
      temporalNamespace: 'default',
      taskQueue: 'herald',
      digestIntervalMs: 15 * 60_000,
      retryWindowMs: 5 * 60_000,
      connectionGraceMs: 60_000,
      deliveryRetryLimitMs: 24 * 60 * 60_000,
      migrateOnStart: false,
    });
    expect(loadConfig({ HERALD_DELIVERY_RETRY_LIMIT: '2h', HERALD_MIGRATE: 'true', HERALD_TASK_QUEUE: ' q1 ' })).toMatchObject({
      deliveryRetryLimitMs: 7_200_000,
      migrateOnStart: true,
      taskQueue: 'q1',
    });
  });

  it('refuses a bad value naming the variable and what it allows; blank means unset', () => {
    expect(() => loadConfig({ HERALD_DELIVERY_RETRY_LIMIT: '30s' })).toThrow(
      new ConfigError('HERALD_DELIVERY_RETRY_LIMIT', '30s', 'expected a duration such as 90s, 15m or 1h (at least 60000 ms)'),
    );
    expect(() => loadConfig({ HERALD_FROM: 'a@b\r\nBcc: c@d' })).toThrow(/^HERALD_FROM=/);
    expect(loadConfig({ DATABASE_URL: '  ' }).databaseUrl).toBeUndefined();
  });
});
