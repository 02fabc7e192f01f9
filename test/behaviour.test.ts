import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const behaviour = readFileSync(`${root}docs/behaviour.md`, 'utf8');
const rules = new Set([...behaviour.matchAll(/^- (S\d+) /gm)].map((m) => m[1]!));

describe('docs/behaviour.md', () => {
  it('numbers the rules in order, each once: S1 to S38, then those of later rounds built so far (S39 to S49)', () => {
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

  it('S48: every rule number in the README and the documents links to the section of this file that explains it', () => {
    const slug = (heading: string) => heading.trim().toLowerCase().replace(/[^\w\- ]/gu, '').replaceAll(' ', '-');
    const sectionOf = new Map<string, string>();
    let section = '';
    for (const line of behaviour.split('\n')) {
      const heading = /^## (.*)/u.exec(line);
      if (heading) section = slug(heading[1]!);
      const rule = /^- (S\d+) /u.exec(line);
      if (rule) sectionOf.set(rule[1]!, section);
    }
    const documents = ['README.md', ...readdirSync(`${root}docs`).filter((f) => f.endsWith('.md') && f !== 'behaviour.md').map((f) => `docs/${f}`)];
    const unlinked: string[] = [];
    for (const path of documents) {
      // Prose only: code blocks and code spans show commands and names, not rules.
      const prose = readFileSync(`${root}${path}`, 'utf8').replace(/```[\s\S]*?```/gu, '').replace(/`[^`\n]*`/gu, '');
      for (const m of prose.matchAll(/(\[)?\b(S\d{1,2})\b(\]\(([^)]*)\))?/gu)) {
        const [, open, rule, , target] = m;
        if (!sectionOf.has(rule!)) continue;
        if (!open || !target?.endsWith(`behaviour.md#${sectionOf.get(rule!)}`)) unlinked.push(`${path}: ${m[0]}`);
      }
    }
    expect(documents.length).toBeGreaterThan(5);
    expect(unlinked).toEqual([]);
  });
});
