#!/usr/bin/env node
// The `herald` command: runs the TypeScript source through tsx, or the build when there is one.
import { existsSync } from 'node:fs';

const built = new URL('../dist/client/cli/main.js', import.meta.url);
if (existsSync(built)) {
  await import(built.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('../client/cli/main.ts', import.meta.url).href);
}
