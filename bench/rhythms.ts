/**
 * `npm run bench -- rhythms`: what deciding whose digest is due costs a cycle (S41). 2,000 persons
 * of mixed rhythms (daily in seven zones, hourly, quiet hours) decided at each 15-minute cycle of
 * ten days, beside the anchor: one zone-aware reading of the cycle's time (luxon) per person, the
 * least such a decision can cost.
 */
import { DateTime } from 'luxon';
import { digestDue } from '../stores/rhythm.js';
import type { Rhythm } from '../contracts/rhythm.js';

const zones = ['Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kolkata', 'America/Santiago', 'Pacific/Chatham', 'UTC'];

export function benchRhythms(options: { rounds: number }): void {
  const persons: Rhythm[] = Array.from({ length: 2_000 }, (_, i) => {
    const timeZone = zones[i % zones.length]!;
    if (i % 4 === 3) return { every: 'hour', timeZone, quietHours: null };
    if (i % 4 === 2) return { every: 'cycle', timeZone, quietHours: { from: '22:00', to: '07:00', connectionEmails: true } };
    return { every: 'day', at: `${String(i % 24).padStart(2, '0')}:${String((i * 7) % 60).padStart(2, '0')}`, timeZone, quietHours: null };
  });
  const cycles = Array.from({ length: 10 * 96 }, (_, i) => new Date(Date.parse('2027-03-20T00:00:00Z') + i * 15 * 60_000));
  const perDecision = (decide: (rhythm: Rhythm, lastDueAt: Date, at: Date) => unknown) => {
    const lastDue = persons.map(() => new Date(Date.parse('2027-03-19T00:00:00Z')));
    const started = performance.now();
    for (const at of cycles) {
      persons.forEach((rhythm, i) => {
        if (decide(rhythm, lastDue[i]!, at)) lastDue[i] = at;
      });
    }
    return ((performance.now() - started) * 1_000) / (cycles.length * persons.length);
  };
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const herald: number[] = [];
  const anchor: number[] = [];
  for (let round = 0; round < options.rounds; round += 1) {
    herald.push(perDecision(digestDue));
    anchor.push(perDecision((rhythm, _last, at) => DateTime.fromJSDate(at, { zone: rhythm.timeZone }).hour === -1));
  }
  const [h, a] = [median(herald), median(anchor)];
  console.log(`whose digest is due (S41), 2,000 persons of mixed rhythms at each cycle of ten days: ${h.toFixed(1)} µs a person (${((h * 2_000) / 1_000).toFixed(1)} ms a cycle), min ${Math.min(...herald).toFixed(1)}, max ${Math.max(...herald).toFixed(1)}`);
  console.log(`   anchor, one zone-aware reading of the cycle's time a person: ${a.toFixed(1)} µs; ratio ${(a / h).toFixed(2)}`);
}
