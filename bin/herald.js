#!/usr/bin/env node
// The `herald` command: runs the build when there is one (`npm run build`), otherwise the
// TypeScript source through tsx. HERALD_FROM_SOURCE=1 runs the source even beside a build.
import { existsSync } from 'node:fs';

const built = new URL('../dist/cli/main.js', import.meta.url);
if (existsSync(built) && process.env.HERALD_FROM_SOURCE !== '1') {
  await import(built.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('../cli/main.ts', import.meta.url).href);
}
