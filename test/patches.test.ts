import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { patches } from '../workflows/patches.js';

const workflowsFolder = fileURLToPath(new URL('../workflows/', import.meta.url));
const historiesFolder = fileURLToPath(new URL('./histories/', import.meta.url));

const workflowSources = readdirSync(workflowsFolder, { recursive: true, encoding: 'utf8' })
  .filter((file) => file.endsWith('.ts') && file !== 'patches.ts')
  .map((file) => readFileSync(`${workflowsFolder}${file}`, 'utf8'));

/** The patch markers a recorded history holds. */
function markersOf(file: string): string[] {
  const history = JSON.parse(readFileSync(`${historiesFolder}${file}`, 'utf8')) as {
    events: { markerRecordedEventAttributes?: { markerName: string; details: Record<string, { payloads: { data: string }[] }> } }[];
  };
  return history.events
    .map((event) => event.markerRecordedEventAttributes)
    .filter((marker) => marker?.markerName === 'core_patch')
    .map((marker) => (JSON.parse(Buffer.from(marker!.details['patch-data']!.payloads[0]!.data, 'base64').toString()) as { id: string }).id);
}

describe('the patch register (workflows/patches.ts)', () => {
  it('names every patch the workflow code asks for, and each one it names is asked for', () => {
    const asked = new Set(workflowSources.flatMap((source) => [...source.matchAll(/takesPatch\('([^']+)'\)/g)].map((m) => m[1]!)));
    expect([...asked].sort()).toEqual(Object.keys(patches).sort());
  });

  it('is the only way workflow code patches: no patched() or deprecatePatch() of its own', () => {
    for (const source of workflowSources) expect(source).not.toMatch(/\b(patched|deprecatePatch)\(/);
  });

  it('knows every patch marker in the recorded histories', () => {
    const histories = readdirSync(historiesFolder).filter((file) => file.endsWith('.json'));
    const markers = new Set(histories.flatMap(markersOf));
    expect(markers.size).toBeGreaterThan(0);
    for (const marker of markers) expect(Object.keys(patches)).toContain(marker);
  });
});
