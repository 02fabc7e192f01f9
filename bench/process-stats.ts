/**
 * What /proc says of a worker process: its CPU time and resident memory. A process that has
 * exited has no entry: its figures are then undefined, and the bench says so instead of failing.
 */
import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's CPU times (USER_HZ, 100 on Linux). */
const ticks = 100;

export interface ProcessStats {
  /** User and system CPU time so far, in seconds. */
  cpuSeconds: number;
  rssMiB: number;
}

/** The process's CPU time and RSS now; undefined once it has exited (or was never there). */
export function processStats(pid: number): ProcessStats | undefined {
  try {
    // The command name, in parentheses, may hold spaces: the fields that follow it are read.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    const rss = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    // A zombie (exited, not yet reaped) has no resident memory line: it has exited too.
    if (!rss || fields[0] === 'Z') return undefined;
    return { cpuSeconds: (Number(fields[11]) + Number(fields[12])) / ticks, rssMiB: Number(rss[1]) / 1024 };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ESRCH') return undefined;
    throw error;
  }
}
