import { describe, expect, it } from 'vitest';
import { parseDuration } from '../contracts/duration.js';
import { ConfigError, loadConfig, runtimeLogLevel } from '../config/config.js';

describe('configuration, read from the environment', () => {
  it('reads durations as Temporal writes them: 250ms, 90s, 15m, 1.5h, 5 minutes, 1d, or bare milliseconds', () => {
    const read = ['250ms', '90s', '15m', '1.5h', '5 minutes', '1d', '1500', ' 2h '].map(parseDuration);
    expect(read).toEqual([250, 90_000, 900_000, 5_400_000, 300_000, 86_400_000, 1_500, 7_200_000]);
    for (const bad of ['', ' ', 'often', '-1s', 'm', '1.5ms', '15 fortnights', '9'.repeat(400)]) expect(parseDuration(bad), bad).toBeUndefined();
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
    expect(loadConfig({}).retentionMs).toBe(30 * 24 * 60 * 60_000);
    expect(loadConfig({ HERALD_RETENTION: '90d' }).retentionMs).toBe(90 * 24 * 60 * 60_000);
    expect(() => loadConfig({ HERALD_RETENTION: '12h' })).toThrow(new ConfigError('HERALD_RETENTION', '12h', 'expected a duration such as 90s, 15m or 1h (at least 86400000 ms)'));
    expect(loadConfig({}).channelAllow).toEqual([]);
    expect(loadConfig({ HERALD_CHANNEL_ALLOW: '127.0.0.1, 10.0.0.0/8,::1' }).channelAllow).toEqual(['127.0.0.1', '10.0.0.0/8', '::1']);
    expect(() => loadConfig({ HERALD_CHANNEL_ALLOW: '127.0.0.1,intranet' })).toThrow(/^HERALD_CHANNEL_ALLOW=.*addresses or CIDR ranges/);
    expect(loadConfig({}).cachedWorkflows).toBeUndefined();
    expect(loadConfig({ HERALD_CACHED_WORKFLOWS: '500' }).cachedWorkflows).toBe(500);
    expect(loadConfig({ HERALD_CACHED_WORKFLOWS: '0' }).cachedWorkflows).toBe(0);
    expect(() => loadConfig({ HERALD_CACHED_WORKFLOWS: '1' })).toThrow(
      new ConfigError('HERALD_CACHED_WORKFLOWS', '1', 'expected a whole number of workflow runs, 2 or more (0: none cached)'),
    );
    expect(() => loadConfig({ HERALD_METRICS_LISTEN: 'everywhere' })).toThrow(/^HERALD_METRICS_LISTEN="everywhere" is not valid: expected host:port/);
    expect(loadConfig({ DATABASE_URL: '  ' }).databaseUrl).toBeUndefined();
  });

  it('reads HERALD_LOG_LEVEL in either case, for the server and for the Temporal runtime alike', () => {
    expect(loadConfig({}).logLevel).toBe('info');
    expect(loadConfig({ HERALD_LOG_LEVEL: 'WARN' }).logLevel).toBe('warn');
    expect(() => loadConfig({ HERALD_LOG_LEVEL: 'loud' })).toThrow(/^HERALD_LOG_LEVEL="loud" is not valid: expected one of fatal, error, warn, info, debug, trace, silent$/);
    expect(runtimeLogLevel('warn', 'INFO')).toBe('WARN');
    expect(runtimeLogLevel('silent', 'INFO')).toBe('ERROR');
    expect(runtimeLogLevel(undefined, 'INFO')).toBe('INFO');
  });
});
