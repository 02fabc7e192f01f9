/**
 * How Herald reaches Temporal, through the SDK's environment configuration: a profile of a TOML
 * file (TEMPORAL_CONFIG_FILE, TEMPORAL_PROFILE) or environment variables such as
 * TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY and TEMPORAL_TLS_CLIENT_CERT_PATH.
 * That covers a self-hosted cluster with mTLS and Temporal Cloud with an API key alike.
 */
import { loadClientConnectConfig } from '@temporalio/envconfig';
import type { NativeConnectionOptions } from '@temporalio/worker';

export interface TemporalTarget {
  connectionOptions: NativeConnectionOptions & { address: string };
  namespace: string;
}

/** The Temporal target of the environment's configuration; `fallbackAddress` when none is named. */
export function temporalTarget(fallbackAddress: string, env: NodeJS.ProcessEnv = process.env): TemporalTarget {
  const { connectionOptions, namespace } = loadClientConnectConfig({
    profile: env.TEMPORAL_PROFILE,
    overrideEnvVars: Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined)),
  });
  return {
    connectionOptions: { ...connectionOptions, address: connectionOptions.address ?? fallbackAddress },
    namespace: namespace ?? 'default',
  };
}

/** gRPC status codes Herald's start-up meets from Temporal. */
export const grpcStatus = { alreadyExists: 6, unimplemented: 12 } as const;

/** The gRPC status code of a failed Temporal call: the error's own, or that of the first error it wraps that has one. */
export function grpcCode(error: unknown): number | undefined {
  for (let cause = error; typeof cause === 'object' && cause !== null; cause = (cause as { cause?: unknown }).cause) {
    if ('code' in cause && typeof cause.code === 'number') return cause.code;
  }
  return undefined;
}
