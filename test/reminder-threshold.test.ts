import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { thresholdText } from '../contracts/message-text.js';

describe("a reminder's threshold in words", () => {
  it('S31: says the threshold in the largest whole unit, never "0 days"', () => {
    expect(thresholdText(60_000)).toBe('1 minute');
    expect(thresholdText(90 * 60_000)).toBe('90 minutes');
    expect(thresholdText(36 * 60 * 60_000)).toBe('36 hours');
    expect(thresholdText(24 * 60 * 60_000)).toBe('1 day');
    expect(thresholdText(3 * 24 * 60 * 60_000)).toBe('3 days');
    // Any threshold of whole minutes reads back as itself.
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 * 24 * 365 }), (minutes) => {
        const [count, unit] = thresholdText(minutes * 60_000).split(' ');
        const unitMinutes = { minute: 1, minutes: 1, hour: 60, hours: 60, day: 1440, days: 1440 }[unit!]!;
        expect(Number(count) * unitMinutes).toBe(minutes);
      }),
    );
  });
});
