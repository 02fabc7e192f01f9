import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Connection } from '@temporalio/client';
import { HeraldClient, HeraldInputError } from '../client/index.js';
import { createTemporalClient } from '../client/payload-codec.js';

// Refused before anything is sent: a Temporal connection that nothing answers is enough.
describe('the client refuses arguments that are no object by name', () => {
  const herald = new HeraldClient({ temporal: createTemporalClient(Connection.lazy({ address: '127.0.0.1:9' })) });
  const calls = {
    reportErrors: (input: unknown) => herald.reportErrors(input as never),
    reportSuccesses: (input: unknown) => herald.reportSuccesses(input as never),
    reportConnectionStatus: (input: unknown) => herald.reportConnectionStatus(input as never),
    resolveErrors: (input: unknown) => herald.resolveErrors(input as never),
    assignErrors: (input: unknown) => herald.assignErrors(input as never),
  };

  for (const [name, call] of Object.entries(calls)) {
    it(`S2: ${name}(null), (undefined where required), a string, a number or an array is a HeraldInputError naming the argument`, async () => {
      const notObjects = fc.oneof(fc.constant(null), fc.string(), fc.double(), fc.boolean(), fc.array(fc.anything(), { maxLength: 3 }));
      await fc.assert(
        fc.asyncProperty(notObjects, async (input) => {
          const refusal = await call(input).then(() => undefined, (error: unknown) => error);
          expect(refusal).toBeInstanceOf(HeraldInputError);
          expect((refusal as HeraldInputError).problems[0]!.field).toMatch(/^\((report|request)\)$/);
          expect((refusal as HeraldInputError).problems[0]!.message).toMatch(/^must be an object, not /);
        }),
        { numRuns: 30 },
      );
      await expect(call(undefined)).rejects.toBeInstanceOf(HeraldInputError);
    });
  }
});
