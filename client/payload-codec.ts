/**
 * Herald's payload codec: payloads of 1 KiB and more travel through Temporal compressed with
 * zlib, so that a report of 10,000 errors (about 0.9 MB of JSON) stays far below the server's
 * 512 KB warning and 2 MB limit. Smaller payloads stay plain JSON, readable in the Temporal UI
 * as they are; compressed ones are readable through Herald's codec endpoint (`server/`).
 *
 * The encoding is `binary/zlib` over the serialized payload, as the Go SDK's zlib codec writes
 * it, so Go tools and workers read Herald's payloads too. Payloads written before the codec (or
 * by a client without it) decode unchanged.
 */
import { Client, type Connection } from '@temporalio/client';
import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';
import { OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry/lib/client/index.js';
import { deflateSync, inflateSync } from 'node:zlib';

const ProtoPayload = proto.temporal.api.common.v1.Payload;
export const zlibEncoding = 'binary/zlib';
const encodingBytes = new TextEncoder().encode(zlibEncoding);
const decoder = new TextDecoder();

/** Payloads smaller than this are left as they are. */
export const compressFromBytes = 1024;

export class ZlibPayloadCodec implements PayloadCodec {
  constructor(private readonly minimumBytes = compressFromBytes) {}

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      if ((payload.data?.length ?? 0) < this.minimumBytes) return payload;
      const compressed = deflateSync(ProtoPayload.encode(payload).finish(), { level: 1 });
      if (compressed.length >= (payload.data?.length ?? 0)) return payload;
      return { metadata: { encoding: encodingBytes }, data: compressed };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const encoding = payload.metadata?.encoding;
      if (!encoding || decoder.decode(encoding) !== zlibEncoding) return payload;
      if (!payload.data) throw new Error(`a ${zlibEncoding} payload without data`);
      return ProtoPayload.decode(inflateSync(payload.data)) as Payload;
    });
  }
}

/** The data converter of every Herald client and worker. */
export const heraldDataConverter: DataConverter = { payloadCodecs: [new ZlibPayloadCodec()] };

/** A Temporal client with Herald's data converter: what every Herald process talks to Temporal with. */
export function createTemporalClient(connection: Connection, namespace = 'default'): Client {
  // The caller's trace (an HTTP request of Herald's server, or a flow's own) goes on into the workflows it starts.
  return new Client({ connection, namespace, dataConverter: heraldDataConverter, interceptors: { workflow: [new OpenTelemetryWorkflowClientInterceptor()] } });
}
