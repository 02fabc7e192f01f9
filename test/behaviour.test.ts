import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const behaviour = readFileSync(`${root}docs/behaviour.md`, 'utf8');
const rules = new Set([...behaviour.matchAll(/^- (S\d+) /gm)].map((m) => m[1]!));

describe('docs/behaviour.md', () => {
  it('numbers the rules S1 to S38, each once', () => {
    expect([...behaviour.matchAll(/^- (S\d+) /gm)].map((m) => m[1])).toEqual(Array.from({ length: 38 }, (_, i) => `S${i + 1}`));
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
