/**
 * The codec endpoint that the Temporal UI and CLI call to show Herald's compressed payloads
 * (`--ui-codec-endpoint`, `temporal workflow show --codec-endpoint`): POST `/codec/decode` and
 * `/codec/encode`, each taking and answering `{ "payloads": [...] }` in protobuf JSON form
 * (metadata values and data base64). Temporal's remote codec protocol.
 */
import type { FastifyInstance } from 'fastify';
import type { Payload } from '@temporalio/common';
import { z } from 'zod';
import { ZlibPayloadCodec } from '../client/payload-codec.js';
import { check } from '../contracts/problems.js';

const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, { error: 'must be base64' });
// Protobuf JSON leaves out what is empty: `{}` is a list of no payloads, and a payload may lack either part.
const payloadsBody = z.strictObject({
  payloads: z
    .array(z.object({ metadata: z.record(z.string(), base64).optional(), data: base64.optional() }), { error: 'must be a list of payloads' })
    .default([]),
});
type JsonPayload = z.infer<typeof payloadsBody>['payloads'][number];

const fromJson = ({ metadata, data }: JsonPayload): Payload => ({
  metadata: Object.fromEntries(Object.entries(metadata ?? {}).map(([key, value]) => [key, Buffer.from(value, 'base64')])),
  data: Buffer.from(data ?? '', 'base64'),
});
const toJson = ({ metadata, data }: Payload): JsonPayload => ({
  metadata: Object.fromEntries(Object.entries(metadata ?? {}).map(([key, value]) => [key, Buffer.from(value).toString('base64')])),
  data: Buffer.from(data ?? new Uint8Array()).toString('base64'),
});

export function codecRoutes(app: FastifyInstance): void {
  const codec = new ZlibPayloadCodec();
  for (const direction of ['decode', 'encode'] as const) {
    app.post(`/codec/${direction}`, async (request, reply) => {
      const body = check(payloadsBody, request.body, '(body)');
      if (body.problems) return reply.code(400).send({ problems: body.problems });
      const payloads = await codec[direction](body.value.payloads.map(fromJson));
      return { payloads: payloads.map(toJson) };
    });
  }
}
