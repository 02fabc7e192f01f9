/**
 * The Temporal floor of the bench: a bare workflow that runs one database activity and ends,
 * what any report costs at least on the same server. Bundled by bench/run.ts alone.
 */
import { defineQuery, proxyActivities, setHandler, sleep } from '@temporalio/workflow';

const { floorActivity } = proxyActivities<{ floorActivity(): Promise<void> }>({ startToCloseTimeout: '1 minute' });

export async function floorWorkflow(): Promise<void> {
  await floorActivity();
}

export const lagsQuery = defineQuery<number[]>('lags');

/**
 * The anchor of the environments part: a workflow that only sleeps `periodMs` in a loop, the
 * platform's own cost of one timer per environment. It keeps how late each wake came (ms).
 */
export async function timerLoop(periodMs: number): Promise<void> {
  const lags: number[] = [];
  setHandler(lagsQuery, () => lags);
  for (;;) {
    const due = Date.now() + periodMs;
    await sleep(periodMs);
    lags.push(Date.now() - due);
  }
}
