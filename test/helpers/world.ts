import type { Knex } from 'knex';
import { applyCatalog, type Catalog } from '../../catalog/catalog.js';

/**
 * The world most tests share: account "acme" with a production and a staging environment,
 * two integrations, flows with auto-resolve on and off, a connection shared by integrations,
 * and users subscribed in different ways. Tests add what they need with `applyCatalog`.
 */
export const testCatalog = {
  accounts: [{ id: 'acme', name: 'Acme' }],
  users: [
    { account: 'acme', email: 'ops@acme.test', name: 'Ops', role: 'admin' },
    { account: 'acme', email: 'orders-team@acme.test', name: 'Orders team', role: 'manage' },
    { account: 'acme', email: 'watcher@acme.test', name: 'Watcher', role: 'monitor' },
  ],
  environments: [
    { id: 'prod', account: 'acme', name: 'Production', production: true },
    { id: 'staging', account: 'acme', name: 'Staging', production: false },
  ],
  connections: [
    { id: 'erp', environment: 'prod', name: 'ERP API' },
    { id: 'staging-erp', environment: 'staging', name: 'ERP API (staging)' },
  ],
  integrations: [
    { id: 'shop', environment: 'prod', name: 'Shop to ERP' },
    { id: 'billing', environment: 'prod', name: 'Billing' },
    { id: 'staging-shop', environment: 'staging', name: 'Shop to ERP (staging)' },
  ],
  flows: [
    { id: 'orders', integration: 'shop', name: 'Orders', autoResolve: true, taskQueue: 'orders-flow', connections: ['erp'] },
    { id: 'customers', integration: 'shop', name: 'Customers', autoResolve: false, connections: ['erp'] },
    { id: 'invoices', integration: 'billing', name: 'Invoices', autoResolve: true, connections: ['erp'] },
    { id: 'staging-orders', integration: 'staging-shop', name: 'Orders (staging)', autoResolve: true, connections: ['staging-erp'] },
  ],
  subscriptions: [
    { environment: 'prod', user: 'ops@acme.test', integrations: ['shop', 'billing'], connections: ['erp'] },
    { environment: 'prod', user: 'orders-team@acme.test', flows: ['orders'] },
    { environment: 'staging', user: 'ops@acme.test', integrations: ['staging-shop'], connections: ['staging-erp'] },
  ],
} satisfies Catalog;

export async function createTestWorld(db: Knex, catalog: Catalog = testCatalog): Promise<void> {
  await applyCatalog(db, catalog);
}
