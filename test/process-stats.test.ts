/**
 * The environments bench reads its workers' CPU and memory from /proc; a worker that exits in the
 * middle of a measurement has no entry there any more, and the bench must go on and say so.
 */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { processStats } from '../bench/process-stats.js';

describe('a worker process as the environments bench reads it', () => {
  it('reads a running process\'s CPU time and memory, and nothing (no failure) once it has exited', async () => {
    const child = spawn(process.execPath, ['-e', 'const a = []; for (let i = 0; i < 1e6; i += 1) a.push(i); setInterval(() => {}, 1000)']);
    try {
      await expect.poll(() => processStats(child.pid!)?.rssMiB ?? 0).toBeGreaterThan(10);
      expect(processStats(child.pid!)!.cpuSeconds).toBeGreaterThanOrEqual(0);
    } finally {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
    expect(processStats(child.pid!)).toBeUndefined();
  });
});
