import { labelRun } from './run-labels.js';
import type { EnvironmentDigestInput } from './digest-contract.js';
import {
  answerRemindRequests,
  chooseStep,
  continueAsNewWith,
  labelCycle,
  learnWhereItStands,
  remindIfDue,
  runCycle,
  sendDeferred,
  setDigestHandlers,
  startingState,
  stop,
  timeToContinue,
  waitForWork,
} from './digest-steps.js';

export * from './digest-contract.js';

/**
 * The environment's digest (S7–S12): every interval, one cycle fixes what is new and newly
 * resolved and emails each subscribed user once. Between cycles it sends deliveries deferred by a
 * 4xx (S34) and looks for errors to remind of (S31); operators ask it for a cycle or a look now,
 * a new interval, or a stop. Long-lived: it continues as new to keep its history small, carrying
 * only its small state. The steps are in digest-steps.ts.
 */
export async function environmentDigest(input: EnvironmentDigestInput): Promise<void> {
  const digest = startingState(input);
  setDigestHandlers(digest);
  labelRun({ environment: input.environment });
  await learnWhereItStands(digest);

  for (let cycles = 0; ; cycles += 1) {
    if (timeToContinue(digest, cycles)) await continueAsNewWith(digest);
    await waitForWork(digest);
    switch (chooseStep(digest)) {
      case 'wait again':
        continue;
      case 'remind':
        await answerRemindRequests(digest);
        continue;
      case 'stop':
        return stop(digest);
      case 'send deferred':
        await sendDeferred(digest);
        continue;
      case 'run cycle':
        if (await runCycle(digest)) {
          await remindIfDue(digest);
          labelCycle(digest);
        }
    }
  }
}
