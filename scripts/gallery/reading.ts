/**
 * Reading what people read (S48): checks over the visible words of a message or page, as a person
 * reads them. Each check names the words it found wrong, so a failure reads like a proofreader's
 * note, not a diff.
 */

/** Words a template leaves when a value was missing or a helper was lost. */
const residue = [/\{\{/u, /\}\}/u, /\bundefined\b/u, /\bnull\b/u, /\bNaN\b/u, /\[object /u];

/**
 * Words that cannot end a phrase: a sentence whose value went missing ends on one of them
 * ("they come .", "in the , environment").
 */
const functionWords = ['a', 'an', 'the', 'of', 'from', 'with', 'and', 'or', 'than', 'since', 'using', 'its', 'their', 'your'];
const danglingWord = new RegExp(`\\b(?:${functionWords.join('|')})\\s*[.,](?=\\s|$)`, 'iu');
/** A colon with nothing after it before the sentence ends, a space before a full stop or comma, an empty parenthesis. */
const emptyTail = /:\s*[.,](?=\s|$)|\S\s+[.,](?=\s|$)|\(\s*\)/u;

/** A variable part of a group's pattern (stores/fingerprint.ts). */
export const placeholder = /‹[a-z]+›/gu;

/** What is wrong with these visible words, each as a short quote with what is wrong with it. */
export function readingProblems(text: string): string[] {
  const problems: string[] = [];
  const lines = text.split('\n');
  for (const line of lines) {
    for (const pattern of residue) {
      const found = pattern.exec(line);
      if (found) problems.push(`template residue ${JSON.stringify(found[0])} in ${quote(line, found.index)}`);
    }
    const dangling = danglingWord.exec(line) ?? emptyTail.exec(line);
    if (dangling) problems.push(`a sentence missing its words: ${quote(line, dangling.index)}`);
  }
  problems.push(...placeholderProblems(lines));
  return problems;
}

/**
 * A line that shows a pattern with placeholders (‹id›, ‹value›) must have a real example beside
 * it: a line within `reach` lines that the pattern matches with its placeholders filled in.
 */
export function placeholderProblems(lines: string[], reach = 3): string[] {
  const problems: string[] = [];
  lines.forEach((line, index) => {
    if (!placeholder.test(line)) return;
    placeholder.lastIndex = 0;
    const pattern = patternOf(line);
    const near = lines.slice(Math.max(0, index - reach), index + reach + 1).filter((other) => other !== line && !/‹[a-z]+›/u.test(other));
    if (!near.some((other) => pattern.test(other))) problems.push(`a pattern without a real example beside it: ${quote(line, 0)}`);
  });
  return problems;
}

/** The words of a line from the one before its first placeholder to the one after its last, as a regular expression in which each placeholder is any text. */
function patternOf(line: string): RegExp {
  const words = line.trim().split(/\s+/u);
  const holding = words.flatMap((word, index) => (/‹[a-z]+›/u.test(word) ? [index] : []));
  const core = words.slice(Math.max(0, holding[0]! - 1), holding.at(-1)! + 2).join(' ');
  const source = core
    .split(/‹[a-z]+›/u)
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/gu, '\\$&').replace(/ /gu, '\\s+'))
    .join('.+?');
  return new RegExp(source, 'u');
}

const quote = (line: string, at: number) => JSON.stringify(line.slice(Math.max(0, at - 40), at + 40).trim());

/** The block helpers a template opens and closes (`{{#if …}}`, `{{/if}}`), counted. */
export function blockHelpers(source: string): { opened: number; closed: number } {
  return { opened: source.match(/\{\{#/gu)?.length ?? 0, closed: source.match(/\{\{\//gu)?.length ?? 0 };
}

/** The words of a Slack Block Kit message as Slack shows them: link labels, entities read back. */
export function slackWords(message: { text: string; blocks: object[] }): string {
  const words: string[] = [];
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(visit);
    if (value === null || typeof value !== 'object') return;
    const node = value as Record<string, unknown>;
    if (typeof node.text === 'string') words.push(node.text);
    for (const [key, child] of Object.entries(node)) if (key !== 'text' || typeof child !== 'string') visit(child);
  };
  visit(message.blocks);
  return words
    .join('\n')
    .replace(/<([^|>]+)\|([^>]*)>/gu, '$2')
    .replace(/[*_~`]/gu, '')
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&amp;', '&');
}

/** The words of a Teams message (an Adaptive Card) as Teams shows them. */
export function teamsWords(message: object): string {
  const words: string[] = [];
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(visit);
    if (value === null || typeof value !== 'object') return;
    const node = value as Record<string, unknown>;
    if (node.type === 'TextRun' || node.type === 'TextBlock') words.push(String(node.text));
    if (node.type === 'Fact') words.push(`${String(node.title)}: ${String(node.value)}`);
    if (node.type === 'Action.OpenUrl' && typeof node.title === 'string') words.push(node.title);
    if (typeof node.title === 'string' && typeof node.value === 'string' && node.type === undefined) words.push(`${node.title}: ${node.value}`);
    for (const child of Object.values(node)) visit(child);
  };
  visit(message);
  // Teams joins the runs of one block on one line; blocks are lines.
  return words.join('\n');
}

/** The words of a JSON event: its string values, one a line (a null or a number is data, not words). */
export function jsonWords(body: unknown): string {
  const words: string[] = [];
  const visit = (value: unknown): void => {
    if (typeof value === 'string') words.push(value);
    else if (Array.isArray(value)) value.forEach(visit);
    else if (value !== null && typeof value === 'object') Object.values(value).forEach(visit);
  };
  visit(body);
  return words.join('\n');
}
