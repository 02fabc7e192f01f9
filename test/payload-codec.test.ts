import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { defaultPayloadConverter } from '@temporalio/common';
import { ZlibPayloadCodec, compressFromBytes, zlibEncoding } from '../client/payload-codec.js';

const codec = new ZlibPayloadCodec();
const encodingOf = (payload: { metadata?: Record<string, Uint8Array> | null }) => new TextDecoder().decode(payload.metadata?.encoding);
const report = (n: number) => ({
  environment: 'prod',
  flow: 'orders',
  reportId: 'run-1',
  errors: Array.from({ length: n }, (_, i) => ({ traceKey: `rec-${i}`, message: `Record ${i} rejected by the target`, code: 'VALIDATION' })),
});

describe('the payload codec', () => {
  it('compresses a report of 10,000 errors far below the server\'s 512 KB warning, and reads it back', async () => {
    const plain = defaultPayloadConverter.toPayload(report(10_000));
    expect(plain.data!.length).toBeGreaterThan(800_000);
    const [encoded] = await codec.encode([plain]);
    expect(encodingOf(encoded!)).toBe(zlibEncoding);
    expect(encoded!.data!.length).toBeLessThan(200_000);
    const [decoded] = await codec.decode([encoded!]);
    expect(defaultPayloadConverter.fromPayload(decoded!)).toEqual(report(10_000));
  });

  it('leaves small payloads plain JSON, readable in the Temporal UI without the codec', async () => {
    const small = defaultPayloadConverter.toPayload({ stored: 1, open: 1 });
    expect(await codec.encode([small])).toEqual([small]);
    expect(encodingOf(small)).toBe('json/plain');
  });

  it('reads payloads written without the codec (older runs, other clients) unchanged', async () => {
    const plain = defaultPayloadConverter.toPayload(report(100));
    expect(await codec.decode([plain])).toEqual([plain]);
  });

  it('round-trips any JSON value, compressed or not', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), fc.integer({ min: 0, max: 3 }), async (value, copies) => {
        const payload = defaultPayloadConverter.toPayload(Array.from({ length: copies }, () => value));
        const encoded = await codec.encode([payload]);
        if (payload.data!.length < compressFromBytes) expect(encoded).toEqual([payload]);
        const [decoded] = await codec.decode(encoded);
        expect(defaultPayloadConverter.fromPayload(decoded!)).toEqual(defaultPayloadConverter.fromPayload(payload));
      }),
      { numRuns: 300 },
    );
  });
});
