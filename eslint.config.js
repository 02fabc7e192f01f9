// One lint gate for the whole project; the workflows/ block keeps workflow code deterministic.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

/** Each folder and the folders below it that it may import (contracts at the bottom). */
const layers = {
  contracts: [],
  config: ['contracts'],
  embedded: ['contracts', 'config'],
  stores: ['contracts', 'config'],
  email: ['contracts', 'config', 'stores'],
  catalog: ['contracts', 'config', 'stores'],
  // What Herald posts to Slack, Teams and webhooks (S43), and how.
  channels: ['contracts', 'config', 'stores'],
  // Every kind of notification (S49), and its posting to channels: above the transports that render it.
  notifications: ['contracts', 'config', 'stores', 'email', 'channels'],
  // Logs and traces, for the processes that run Herald.
  observability: ['contracts', 'config'],
  activities: ['contracts', 'config', 'stores', 'email', 'catalog', 'channels', 'notifications'],
  workflows: ['contracts'],
  // What flows import: the Temporal client and the contracts, nothing of the database.
  client: ['contracts', 'workflows'],
  // What works on the database and Temporal together, for operators and the platform.
  admin: ['contracts', 'config', 'stores', 'catalog', 'workflows', 'client'],
  server: ['contracts', 'config', 'stores', 'email', 'catalog', 'channels', 'notifications', 'observability', 'workflows', 'client', 'admin'],
  cli: ['contracts', 'config', 'embedded', 'stores', 'email', 'catalog', 'channels', 'notifications', 'observability', 'workflows', 'client', 'admin'],
  worker: ['contracts', 'config', 'embedded', 'stores', 'email', 'catalog', 'channels', 'notifications', 'observability', 'activities', 'workflows', 'client', 'admin', 'server'],
};
/** Folders that know nothing of Temporal. */
const withoutTemporal = ['stores', 'email', 'catalog', 'channels', 'notifications'];
const folders = [...Object.keys(layers), 'test', 'bench', 'scripts'];
/** Import paths into `folder` from one to three levels down. */
const relative = (folder) => ['../', '../../', '../../../'].map((up) => `${up}${folder}/**`);

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.tools/', '.herald/', 'test-artifacts/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
      globals: globals.node,
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  // Layers: each folder imports only the folders below it (see the README's folder table).
  ...Object.entries(layers).map(([folder, allowed]) => ({
    files: [`${folder}/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ...(folder === 'workflows'
              ? [
                  { group: ['node:*', 'fs', 'path', 'os', 'crypto', 'child_process', 'http', 'net'], message: 'Workflow code is deterministic: no Node built-ins.' },
                  { group: relative('activities'), allowTypeImports: true, message: 'Workflows import activity types only.' },
                ]
              : []),
            ...(withoutTemporal.includes(folder)
              ? [{ group: ['@temporalio/*'], message: `${folder}/ is plain code: what Temporal sees of it (attempts, heartbeats, failures) is made in activities/.` }]
              : []),
            ...folders
              .filter((other) => other !== folder && !allowed.includes(other) && !(folder === 'workflows' && other === 'activities'))
              .map((other) => ({ group: relative(other), message: `${folder}/ may import only ${allowed.join(', ') || 'packages'}: ${other}/ is above it.` })),
          ],
        },
      ],
      ...(folder === 'workflows' && {
        'no-restricted-properties': ['error', { object: 'Date', property: 'now', message: 'Use workflow time, not the clock.' }],
      }),
    },
  })),
  // Activities and stores are plain objects whose functions are handed around unbound (the worker
  // registers them one by one, asNamedRefusals wraps them): `this` in them is undefined when called.
  {
    files: ['activities/**/*.ts', 'stores/**/*.ts', 'email/**/*.ts', 'catalog/**/*.ts'],
    rules: {
      'no-restricted-syntax': ['error', { selector: 'ThisExpression', message: 'Activity and store functions are called unbound: name the object or the function, not `this`.' }],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: globals.node },
  },
);
