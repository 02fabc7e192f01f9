import { defineConfig } from 'vitest/config';
import base from '../../vitest.config.js';

/** `npm run record-histories`: runs the recorder alone, with the suite's PostgreSQL. */
export default defineConfig({ ...base, test: { ...base.test, include: ['test/histories/record.ts'] } });
