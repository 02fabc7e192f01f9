import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    reporters: ['default', './test/summary-reporter.ts'],
    // The Temporal SDK's native module needs processes, not worker threads. Three files at once on two
    // cores: much of a file's time is spent waiting (real timeouts, servers starting), not computing.
    pool: 'forks',
    maxWorkers: 3,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Transformed modules kept on disk (node_modules/.experimental-vitest-cache), keyed by their content:
    // every vitest process after the first (each page test run alone, say) reads them instead.
    experimental: { fsModuleCache: true },
  },
});
