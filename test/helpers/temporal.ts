import { afterAll } from 'vitest';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { testServerExecutable } from '../../worker/temporal-binaries.js';
import { installQuietRuntime } from './quiet-logger.js';
import { ensureSearchAttributes } from '../../worker/search-attributes.js';

/** The Temporal time-skipping test server for this test file, torn down when the file ends. */
export async function createTimeSkippingEnvironment(): Promise<TestWorkflowEnvironment> {
  installQuietRuntime();
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: testServerExecutable() },
  });
  afterAll(() => env.teardown());
  // As every worker does: Herald's runs carry search attributes the namespace must know.
  await ensureSearchAttributes(env.connection, env.namespace ?? 'default');
  return env;
}
