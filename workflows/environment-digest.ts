import { labelRun } from './run-labels.js';
import { takesPatch } from './patches.js';
import type { EnvironmentDigestInput } from './digest-contract.js';
import {
  answerRemindRequests,
  chooseStep,
  continueAsNewWith,
  labelCycle,
  learnWhereItStands,
  nothingToFix,
  remindIfDue,
  runCycle,
  sendDeferred,
  setDigestHandlers,
  sleepThroughCycle,
  startingState,
  stop,
  timeToContinue,
  waitForWork,
} from './digest-steps.js';

export * from './digest-contract.js';

/**
 * The environment's digest (S7–S12): every interval, one cycle fixes what is new and newly
 * resolved and emails each subscribed user once — when there is news: a cycle nobody told of any
 * (and no rhythm falls due) sleeps again on its timer alone (#40). Between cycles it sends deliveries deferred by a
 * 4xx (S34) and looks for errors to remind of (S31); operators ask it for a cycle or a look now,
 * a new interval, or a stop. Long-lived: it continues as new to keep its history small, carrying
 * only its small state. The steps are in digest-steps.ts.
 */
export async function environmentDigest(input: EnvironmentDigestInput): Promise<void> {
  const digest = startingState(input);
  setDigestHandlers(digest);
  labelRun({ environment: input.environment });
  await learnWhereItStands(digest);

  // `wakes` counts every turn (a request, a look for reminders, deferred deliveries); runs that
  // take the patch count only the cycles they ran, so that a run lasts its 96 cycles.
  for (let wakes = 0, cycles = 0; ; wakes += 1) {
    if (timeToContinue(digest, takesPatch('count-cycles-not-wakes') ? cycles : wakes)) await continueAsNewWith(digest);
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
        cycles += 1;
        if (nothingToFix(digest)) {
          await sleepThroughCycle(digest);
          continue;
        }
        if (await runCycle(digest)) {
          await remindIfDue(digest);
          labelCycle(digest);
        }
    }
  }
}
