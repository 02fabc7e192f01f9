/**
 * What every workflow of a worker thread shares: the contracts' schemas and zod beneath them,
 * evaluated once per thread (worker/worker.ts preloads this module into the bundle's shared module
 * cache) instead of once for each workflow it runs and kept while the workflow is cached. Only
 * what keeps no workflow's state belongs here: schemas, constants, pure functions — nothing that
 * reads the workflow's clock or calls into @temporalio/workflow.
 */
import '../contracts/error-report.js';
