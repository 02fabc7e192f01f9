import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const behaviour = readFileSync(`${root}docs/behaviour.md`, 'utf8');
const rules = new Set([...behaviour.matchAll(/^- (S\d+) /gm)].map((m) => m[1]!));

describe('docs/behaviour.md', () => {
  it('numbers the rules in order, each once: S1 to S38, then those of later rounds built so far (S39, S40, S41, S42, S43, S44)', () => {
    const numbers = [...behaviour.matchAll(/^- S(\d+) /gm)].map((m) => Number(m[1]));
    expect(numbers.slice(0, 38)).toEqual(Array.from({ length: 38 }, (_, i) => i + 1));
    expect(numbers).toEqual([...new Set(numbers)].sort((a, b) => a - b));
  });

  it('holds every rule that a test names', () => {
    const cited = new Set<string>();
    for (const file of readdirSync(`${root}test`).filter((f) => f.endsWith('.test.ts'))) {
      for (const m of readFileSync(`${root}test/${file}`, 'utf8').matchAll(/\bit\(\s*[`'"]((?:S\d+(?:, )?)+):/g)) {
        for (const rule of m[1]!.split(', ')) cited.add(rule);
      }
    }
    expect(cited.size).toBeGreaterThan(20);
    expect([...cited].filter((rule) => !rules.has(rule))).toEqual([]);
  });
});
