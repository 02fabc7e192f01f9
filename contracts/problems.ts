/**
 * Refusals of input: every problem of a refused input, each at its path (`errors[2].message`).
 * Schemas (zod) find them; these helpers turn a schema's findings into Herald's problems.
 */
import type { z } from 'zod';

/** One thing wrong with an input, at its field (`errors[2].message`). */
export interface InputProblem {
  field: string;
  message: string;
}

/**
 * Herald's one kind of refusal: input refused, for its shape or for what it names (an unknown
 * environment, flow or user), with every problem at its field; nothing of it was written.
 * Activities hand it on to the caller as a named, non-retryable failure (input-failure.ts); the
 * client's `HeraldInputError` and the catalog's `CatalogError` are this refusal where it is met.
 */
export class InputRefusedError extends Error {
  override readonly name: string = 'InputRefusedError';
  /**
   * @param heading what was refused, as the command line says it (`herald: refused:`); the
   *   message is the heading and the problems.
   */
  constructor(
    readonly problems: InputProblem[],
    readonly heading = 'refused',
  ) {
    super(heading === 'refused' ? problems.map((p) => `${p.field}: ${p.message}`).join('; ') : `${heading}:\n${problems.map((p) => `  ${p.field}: ${p.message}`).join('\n')}`);
  }
}

/** A path as Herald names fields: `errors[2].message`, `flows[0].connections[1]`. */
export function pathText(path: readonly PropertyKey[], root = '(input)'): string {
  let text = '';
  for (const part of path) {
    if (typeof part === 'number') text += `[${part}]`;
    else text += text === '' ? String(part) : `.${String(part)}`;
  }
  return text === '' ? root : text;
}

/**
 * Every problem a schema found, in the order it found them. Unknown keys are one problem each,
 * at their own path, with `unknown field`.
 */
export function problemsOf(error: z.ZodError, root = '(input)'): InputProblem[] {
  const problems: InputProblem[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) problems.push({ field: pathText([...issue.path, key], root), message: 'unknown field' });
    } else {
      problems.push({ field: pathText(issue.path, root), message: issue.message });
    }
  }
  return problems;
}

/** Parses `input` with `schema`: the value, or every problem found. */
export function check<T>(schema: z.ZodType<T>, input: unknown, root = '(input)'): { value: T; problems?: undefined } | { problems: InputProblem[] } {
  const result = schema.safeParse(input);
  return result.success ? { value: result.data } : { problems: problemsOf(result.error, root) };
}
