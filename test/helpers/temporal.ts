import { afterAll } from 'vitest';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { testServerExecutable } from '../../embedded/temporal-binaries.js';
import { installQuietRuntime } from './quiet-logger.js';

/** The Temporal time-skipping test server for this test file, torn down when the file ends. */
export async function createTimeSkippingEnvironment(): Promise<TestWorkflowEnvironment> {
  installQuietRuntime();
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: testServerExecutable() },
  });
  afterAll(() => env.teardown());
  return env;
}
