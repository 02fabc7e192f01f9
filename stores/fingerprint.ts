/**
 * Grouped errors (S42): errors of one flow whose messages differ only in their variable parts
 * (numbers and ids, quoted values, e-mail addresses, UUIDs) share a fingerprint. It is computed
 * once, when an error is stored, and kept indexed beside it: grouping costs nothing when a digest
 * or a page lists errors. A flow that knows better sends its own `fingerprint`.
 */
import { createHash } from 'node:crypto';

/** How a variable part reads in a group's pattern. */
const placeholders = { uuid: '‹uuid›', email: '‹email›', value: '‹value›', id: '‹id›' } as const;

const uuid = /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/giu;
/** An address's local part: any of RFC 5322's atext symbols, apostrophe and backtick among them (o'neil@…). */
const localPart = /[\p{L}\p{N}._%+!#$&*/=?^`'{|}~-]+/u.source;
const domain = /@[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)+/u.source;
/** An address in quotes or backticks ('bob@x.com', `bob@x.com`): one quoted value, quotes and all. */
const quotedEmail = new RegExp(`(['\`])${localPart}${domain}\\1`, 'gu');
/** An address: an apostrophe or backtick in it is part of it, so it is never left behind to open a quoted value. */
const email = new RegExp(`${localPart}${domain}`, 'gu');
/** Text in quotes, not an apostrophe inside a word ("can't"). */
const quoted = /"[^"\n]*"|“[^”\n]*”|‘[^’\n]*’|`[^`\n]*`|(?<![\p{L}\p{N}])'[^'\n]*'(?![\p{L}\p{N}])/gu;
/** A word, with the parts its dots, dashes, slashes, colons and hashes join (SO-1001, 12.50, order/77). */
const word = /[\p{L}\p{N}_]+(?:[-./:#][\p{L}\p{N}_]+)*/gu;
/** One part of a word, between those joiners. */
const wordPart = /[\p{L}\p{N}_]+/gu;

/**
 * Whether a part of a word is a variable one: a number (1234, 0x1F, 12th), an id with a long
 * number in it (INV20260001), or a long mix of letters and digits (a hash). A short name with a
 * digit in it (A3, x1, v2, S3) is a fixed word: it names a thing, it does not count one.
 */
function variablePart(part: string): boolean {
  if (/^\p{N}/u.test(part)) return true;
  if (/\p{N}{4}/u.test(part)) return true;
  return part.length >= 8 && /\p{N}/u.test(part) && /\p{L}/u.test(part);
}

/**
 * A message with its variable parts replaced by placeholders, its spaces collapsed:
 * "Customer 1234 not found in ERP" → "Customer ‹id› not found in ERP",
 * "A3 attempt 2 failed for SO-1001" → "A3 attempt ‹id› failed for SO-‹id›".
 */
export function messagePattern(message: string): string {
  return message
    .replace(uuid, placeholders.uuid)
    .replace(quotedEmail, placeholders.value)
    .replace(email, placeholders.email)
    .replace(quoted, placeholders.value)
    // A number with its decimals or dots (12.50, 10.0.0.1) is one variable; in a word of several
    // parts (SO-1001, order/77/lines) only the variable parts are.
    .replace(word, (token) => (/^\p{N}/u.test(token) ? placeholders.id : token.replace(wordPart, (part) => (variablePart(part) ? placeholders.id : part))))
    .replace(/\s+/gu, ' ')
    .trim();
}

/** The fingerprint an error is stored with: the flow's own, or that of its message's pattern. */
export function errorFingerprint(message: string, own?: string): string {
  if (own !== undefined) return `own:${own}`;
  return `${computed}${createHash('sha256').update(messagePattern(message)).digest('hex').slice(0, 32)}`;
}

/** How a computed fingerprint begins (a flow's own begins `own:`). */
const computed = 'auto:';
/** How the key of a group of errors stored before fingerprints begins: their exact message follows. */
const byMessage = 'message:';

/** The key that groups errors (`alias` names the errors table): the fingerprint, or for errors stored before fingerprints, their message. */
export const groupKeySql = (alias: string) => `coalesce(${alias}.fingerprint, '${byMessage}' || ${alias}.message)`;

/** The errors of the group `key` names, as a condition on `alias`'s fingerprint and message. */
export function inGroup(alias: string, key: string): { sql: string; bindings: string[] } {
  return key.startsWith(byMessage)
    ? { sql: `${alias}.fingerprint is null and ${alias}.message = ?`, bindings: [key.slice(byMessage.length)] }
    : { sql: `${alias}.fingerprint = ?`, bindings: [key] };
}

/** What a group reads as: the pattern of its message for a computed fingerprint, else the message of its first error. */
export function groupLabel(message: string, key: string | null): string {
  return key?.startsWith(computed) ? messagePattern(message) : message;
}
