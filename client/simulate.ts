/**
 * `herald simulate` (`npm run demo`): drives the demo catalog (examples/catalog.yaml) the way
 * real flows would, so that the mail catcher and the Temporal UI have something to show:
 * flows that fail, intermittent errors that recover or not, records that later succeed, a
 * connection that flaps and one that goes down, then a digest cycle in each environment.
 */
import type { Client } from '@temporalio/client';
import { randomBytes } from 'node:crypto';
import type { HeraldClient } from './herald-client.js';
import { environmentDigestWorkflowId } from '../workflows/workflow-ids.js';
import { runCycleNowUpdate } from '../workflows/environment-digest.js';

export interface SimulationOptions {
  client: HeraldClient;
  temporal: Client;
  log?: (line: string) => void;
  /** Waits between steps (real time); tests pass one that returns at once. */
  pause?: (ms: number) => Promise<void>;
}

/** Environments of the demo catalog, as `herald simulate` expects them. */
export const demoEnvironments = ['acme-production', 'acme-sandbox', 'acme-staging'];

export async function simulateDemo(options: SimulationOptions): Promise<void> {
  const { client, temporal } = options;
  const log = options.log ?? (() => {});
  const pause = options.pause ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  // Trace keys of this run, so that running the demo again reports new records.
  const run = randomBytes(2).toString('hex').toUpperCase();

  log('Flows fail:');
  const orders = await client.reportErrors({
    environment: 'acme-production',
    flow: 'orders-to-erp',
    errors: [
      { traceKey: `SO-${run}-1001`, message: 'Customer "C-88" not found in ERP', code: 'NOT_FOUND', step: 'Create sales order' },
      { traceKey: `SO-${run}-1002`, message: 'Price list "EU-2026" is missing for SKU TENT-4P', code: 'VALIDATION', step: 'Map order lines' },
      { traceKey: `SO-${run}-1003`, message: 'Shipping method <EXPRESS> is not allowed for PO boxes', code: 'VALIDATION', step: 'Map shipping' },
    ],
  });
  log(`  orders-to-erp (production): ${orders.stored} errors`);
  const customers = await client.reportErrors({
    environment: 'acme-production',
    flow: 'customers-to-erp',
    errors: [{ traceKey: `CUS-${run}-17`, message: 'VAT number fails the checksum', code: 'VALIDATION', step: 'Validate account' }],
  });
  log(`  customers-to-erp (production): ${customers.stored} error`);
  const sandbox = await client.reportErrors({
    environment: 'acme-sandbox',
    flow: 'orders-to-erp',
    errors: [{ traceKey: `SO-${run}-T1`, message: 'Test order rejected: credit hold', code: 'CREDIT_HOLD', step: 'Create sales order' }],
  });
  log(`  orders-to-erp (sandbox): ${sandbox.stored} error`);
  const staging = await client.reportErrors({
    environment: 'acme-staging',
    flow: 'staging-orders-to-erp',
    errors: [{ traceKey: `SO-${run}-S1`, message: 'Staging ERP returned HTTP 500', code: 'HTTP_500', step: 'Create sales order' }],
  });
  log(`  staging-orders-to-erp (staging): ${staging.stored} error`);

  log('Intermittent errors go into their retry window:');
  const shipments = await client.reportErrors({
    environment: 'acme-production',
    flow: 'shipments-to-warehouse',
    errors: [
      { traceKey: `SHIP-${run}-1`, message: 'Gateway timeout from the warehouse SFTP relay', code: '504', step: 'Upload pick list' },
      { traceKey: `SHIP-${run}-2`, message: 'Warehouse SFTP connection reset', code: 'ECONNRESET', step: 'Upload pick list' },
    ],
  });
  log(`  shipments-to-warehouse: ${shipments.retrying} retrying (${shipments.retryWorkflowId})`);

  await pause(2_000);
  log('Records succeed later:');
  const recovered = await client.reportSuccesses({ environment: 'acme-production', flow: 'shipments-to-warehouse', traceKeys: [`SHIP-${run}-1`] });
  log(`  SHIP-${run}-1 succeeded: ${recovered.recovered} recovered silently; SHIP-${run}-2 stays in its window and will be notified`);
  const fixed = await client.reportSuccesses({ environment: 'acme-production', flow: 'orders-to-erp', traceKeys: [`SO-${run}-1003`] });
  log(`  SO-${run}-1003 succeeded on a re-run: ${fixed.resolved} auto-resolved before any digest (never emailed)`);

  log('Connections change:');
  await client.reportConnectionStatus({ environment: 'acme-production', connection: 'erp-api', status: 'offline', reason: 'TLS handshake timeout' });
  await pause(1_000);
  await client.reportConnectionStatus({ environment: 'acme-production', connection: 'erp-api', status: 'online' });
  log('  erp-api flapped (offline, online again within the grace period): nobody is emailed');
  await client.reportConnectionStatus({
    environment: 'acme-production',
    connection: 'warehouse-sftp',
    status: 'offline',
    reason: 'Authentication failed: password expired',
  });
  log('  warehouse-sftp is offline: its subscribers are emailed once the grace period ends');

  log('Digest cycles run now:');
  for (const environment of demoEnvironments) {
    const summary = await temporal.workflow.getHandle(environmentDigestWorkflowId(environment)).executeUpdate(runCycleNowUpdate);
    log(`  ${environment}: cycle ${summary.number}, ${summary.newErrors} new, ${summary.resolvedErrors} resolved, ${summary.sent} email(s) sent`);
  }
}
