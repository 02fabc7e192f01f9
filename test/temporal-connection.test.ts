import { describe, expect, it } from 'vitest';
import { writeFile } from 'node:fs/promises';
import { tempFolder } from './helpers/temp.js';
import { join } from 'node:path';
import { temporalTarget } from '../config/temporal-connection.js';

describe('how the production worker reaches Temporal', () => {
  it('falls back to the local address and the default namespace when nothing is configured', () => {
    expect(temporalTarget('127.0.0.1:7233', { TEMPORAL_CONFIG_FILE: '/nonexistent/temporal.toml' })).toMatchObject({
      connectionOptions: { address: '127.0.0.1:7233' },
      namespace: 'default',
    });
  });

  it('reads Temporal Cloud settings (address, namespace, API key) from environment variables', () => {
    const target = temporalTarget('127.0.0.1:7233', {
      TEMPORAL_CONFIG_FILE: '/nonexistent/temporal.toml',
      TEMPORAL_ADDRESS: 'herald.a1b2c.tmprl.cloud:7233',
      TEMPORAL_NAMESPACE: 'herald.a1b2c',
      TEMPORAL_API_KEY: 'secret-key',
    });
    expect(target.namespace).toBe('herald.a1b2c');
    expect(target.connectionOptions).toMatchObject({ address: 'herald.a1b2c.tmprl.cloud:7233', apiKey: 'secret-key' });
    expect(target.connectionOptions.tls).toBeTruthy();
  });

  it('reads a named profile of a TOML file, with mutual TLS', async () => {
    const dir = await tempFolder('envconfig');
    const file = join(dir, 'temporal.toml');
    await writeFile(
      file,
      ['[profile.prod]', 'address = "temporal.internal:7233"', 'namespace = "herald"', '[profile.prod.tls]',
        `client_cert_data = "CERT"`, `client_key_data = "KEY"`].join('\n'),
    );
    const target = temporalTarget('127.0.0.1:7233', { TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'prod' });
    expect(target.namespace).toBe('herald');
    expect(target.connectionOptions.address).toBe('temporal.internal:7233');
    const tls = target.connectionOptions.tls as { clientCertPair?: { crt: Uint8Array; key: Uint8Array } };
    expect(Buffer.from(tls.clientCertPair!.crt).toString()).toBe('CERT');
    expect(Buffer.from(tls.clientCertPair!.key).toString()).toBe('KEY');
  });
});
