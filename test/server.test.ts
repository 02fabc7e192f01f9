import { describe, expect, it } from 'vitest';
import { defaultPayloadConverter } from '@temporalio/common';
import { createTestDatabase } from './helpers/database.js';
import { buildServer } from '../server/app.js';
import { ZlibPayloadCodec } from '../client/payload-codec.js';

const uiOrigin = 'http://127.0.0.1:8233';
const asJson = (payload: { metadata?: Record<string, Uint8Array> | null; data?: Uint8Array | null }) => ({
  metadata: Object.fromEntries(Object.entries(payload.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  data: Buffer.from(payload.data ?? new Uint8Array()).toString('base64'),
});

describe('Herald\'s server', async () => {
  const { db } = await createTestDatabase();
  const app = await buildServer({ db, codecOrigins: [uiOrigin] });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

  it('answers health and readiness', async () => {
    expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: 'ok' });
    expect(await (await fetch(`${url}/readyz`)).json()).toEqual({ status: 'ready' });
  });

  it('decodes a compressed payload for the Temporal UI, and encodes one back, in the remote codec protocol', async () => {
    const report = { environment: 'prod', flow: 'orders', errors: Array.from({ length: 500 }, (_, i) => ({ traceKey: `SO-${i}`, message: 'Customer not found' })) };
    const plain = defaultPayloadConverter.toPayload(report);
    const [compressed] = await new ZlibPayloadCodec().encode([plain]);
    const decoded = await post('/codec/decode', { payloads: [asJson(compressed!)] }, { origin: uiOrigin, 'x-namespace': 'default' });
    expect(decoded.status).toBe(200);
    expect(decoded.headers.get('access-control-allow-origin')).toBe(uiOrigin);
    const { payloads } = (await decoded.json()) as { payloads: { metadata: Record<string, string>; data: string }[] };
    expect(Buffer.from(payloads[0]!.metadata.encoding!, 'base64').toString()).toBe('json/plain');
    expect(JSON.parse(Buffer.from(payloads[0]!.data, 'base64').toString())).toEqual(report);

    const encoded = (await (await post('/codec/encode', { payloads })).json()) as { payloads: { metadata: Record<string, string> }[] };
    expect(Buffer.from(encoded.payloads[0]!.metadata.encoding!, 'base64').toString()).toBe('binary/zlib');
  });

  it('lets the Temporal UI\'s origin in (preflight included), and no other', async () => {
    const preflight = (origin: string) =>
      fetch(`${url}/codec/decode`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-namespace' } });
    expect((await preflight(uiOrigin)).headers.get('access-control-allow-origin')).toBe(uiOrigin);
    expect((await preflight('https://evil.example')).headers.get('access-control-allow-origin')).toBeNull();
  });

  it('reads an empty list as protobuf JSON writes it (left out), as the Temporal CLI sends it', async () => {
    const response = await post('/codec/decode', {});
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ payloads: [] });
  });

  it('refuses a body that is not a list of payloads, naming the problem', async () => {
    const response = await post('/codec/decode', { payloads: [{ data: 'not base64!' }] });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ problems: [{ field: 'payloads[0].data', message: 'must be base64' }] });
  });
});
