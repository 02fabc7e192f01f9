import { afterAll } from 'vitest';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { testServerExecutable } from '../../worker/temporal-binaries.js';
import { installQuietRuntime } from './quiet-logger.js';
import { addSearchAttributes } from '../../worker/search-attributes.js';
import { heraldSearchAttributes } from '../../workflows/run-labels.js';

/** The Temporal time-skipping test server for this test file, torn down when the file ends. */
export async function createTimeSkippingEnvironment(): Promise<TestWorkflowEnvironment> {
  installQuietRuntime();
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: testServerExecutable() },
  });
  afterAll(() => env.teardown());
  // Herald's runs carry search attributes the namespace must know. (The test server cannot list
  // them, so they are added outright rather than through ensureSearchAttributes.)
  await addSearchAttributes(env.connection, env.namespace ?? 'default', heraldSearchAttributes.map((key) => key.name));
  return env;
}
