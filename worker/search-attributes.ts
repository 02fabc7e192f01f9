/**
 * Custom search attributes on Herald's workflows, so operators can filter runs in the Temporal
 * UI (`HeraldEnvironment = "prod"`). The dev server registers them at start; on a cluster,
 * register them once with `temporal operator search-attribute create` (see the README).
 */
export const heraldSearchAttributes = {
  HeraldEnvironment: 'Keyword',
  HeraldFlow: 'Keyword',
  HeraldOutcome: 'Keyword',
} as const;

/** The dev server's `--search-attribute Name=Type` flags. */
export function searchAttributeFlags(): string[] {
  return Object.entries(heraldSearchAttributes).flatMap(([name, type]) => ['--search-attribute', `${name}=${type}`]);
}
