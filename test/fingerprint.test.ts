import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { errorFingerprint, messagePattern } from '../stores/fingerprint.js';

// The fixed words of a message: letters and common punctuation, never a digit, quote or @.
const fixedWord = fc.stringMatching(/^[A-Za-z][A-Za-z,;()]{0,11}$/);
/** A variable part, as flows write them. */
const variablePart = fc.oneof(
  fc.integer({ min: 0, max: 10_000_000 }).map(String),
  fc.tuple(fc.constantFrom('SO', 'INV', 'C', 'ORD'), fc.integer({ min: 1, max: 999_999 })).map(([prefix, n]) => `${prefix}-${n}`),
  fc.double({ min: 0, max: 1e6, noNaN: true }).map((n) => n.toFixed(2)),
  fc.uuid(),
  fc.emailAddress(),
  fc.stringMatching(/^[^'\n]{0,20}$/).map((value) => `'${value}'`),
  fc.stringMatching(/^[^"\n]{0,20}$/).map((value) => `"${value}"`),
);
/** A message template: fixed words with slots between them. */
const template = fc.array(fc.oneof(fixedWord.map((text) => ({ text })), fc.constant({ slot: true as const })), { minLength: 1, maxLength: 10 });
type Part = { text: string } | { slot: true };
const fill = (parts: Part[], values: string[]) => parts.map((part, i) => ('text' in part ? part.text : values[i % values.length]!)).join(' ');

describe('S42: error fingerprints', () => {
  it('S42: messages that differ only in numbers, ids, quoted values, e-mails or UUIDs share a fingerprint', () => {
    fc.assert(
      fc.property(template, fc.array(variablePart, { minLength: 10, maxLength: 10 }), fc.array(variablePart, { minLength: 10, maxLength: 10 }), (parts, one, other) => {
        // Each slot takes a variable of the same kind in both messages only as far as the pattern goes: all kinds map to placeholders.
        const [a, b] = [fill(parts, one), fill(parts, other)];
        fc.pre(parts.every((part, i) => 'text' in part || kindOf(one[i % 10]!) === kindOf(other[i % 10]!)));
        expect(errorFingerprint(a)).toBe(errorFingerprint(b));
      }),
    );
  });

  it('S42: messages whose fixed words differ do not', () => {
    fc.assert(
      fc.property(template, template, fc.array(variablePart, { minLength: 10, maxLength: 10 }), (one, other, values) => {
        const words = (parts: Part[]) => parts.map((part) => ('text' in part ? part.text : '·')).join(' ');
        fc.pre(words(one) !== words(other));
        expect(errorFingerprint(fill(one, values))).not.toBe(errorFingerprint(fill(other, values)));
      }),
      {
        // Found by this property once: an address whose local part begins with a backtick opened a
        // quoted value that swallowed the fixed word "a" up to the next such address.
        examples: [
          [
            [{ slot: true }, { slot: true }, { text: 'a' }, { slot: true }, { slot: true }],
            [{ slot: true }, { slot: true }, { slot: true }, { slot: true }, { slot: true }],
            ['0.00', '`a.a@a.aa', '""', '`a.a@a.aa', '0.00', '""', 'a@a.aa', 'a@a.aa', '0.00', 'a@a.aa'],
          ],
          // And by it again: an apostrophe inside the local part (RFC 5322 allows it) was matched
          // as an address only after it, and the backtick left before it did the same.
          [
            [{ slot: true }, { text: 'A' }, { text: 'A' }, { slot: true }, { slot: true }],
            [{ slot: true }, { slot: true }, { text: 'A' }, { slot: true }, { slot: true }],
            ["`a.'a.a@a.aa", "''", "''", 'a@a.aa', "`a.'a.a@a.aa", '00000000-0000-1000-8000-000000000000', 'a@a.aa', '00000000-0000-1000-8000-000000000000', 'a@a.aa', 'SO-1'],
          ],
        ],
      },
    );
  });

  it('S42: reads as a pattern people recognise', () => {
    expect(messagePattern('Customer 1234 not found in ERP')).toBe('Customer ‹id› not found in ERP');
    expect(messagePattern('Order SO-1001 rejected: price 12.50 below floor')).toBe('Order SO-‹id› rejected: price ‹id› below floor');
    // A digit inside a short word names a thing (a step A3, a version v2): the word stays as written.
    expect(messagePattern('A3 attempt 2 failed x1 on v2')).toBe('A3 attempt ‹id› failed x1 on v2');
    expect(messagePattern('Invoice INV20260001 at 10.0.0.1 hash a1b2c3d4e5f6 line 12th')).toBe('Invoice ‹id› at ‹id› hash ‹id› line ‹id›');
    expect(messagePattern("Can't match 'ACME Corp' for jane.doe@acme.test")).toBe("Can't match ‹value› for ‹email›");
    expect(messagePattern('Lookup 3f2504e0-4f89-11d3-9a0c-0305e82c3301 timed out')).toBe('Lookup ‹uuid› timed out');
    expect(messagePattern('  Field  "name"\n is required ')).toBe('Field ‹value› is required');
    // An address whose local part holds or begins with an apostrophe or a backtick is one address,
    // and an address in quotes or backticks one quoted value: neither opens a quote that swallows
    // the words after it.
    expect(messagePattern("Mail to o'neil@acme.test and 'ann@acme.test failed, retry later")).toBe('Mail to ‹email› and ‹email› failed, retry later');
    expect(messagePattern("Send `bob@x.test` to `queue` and 'carol@x.test' to 'other'")).toBe('Send ‹value› to ‹value› and ‹value› to ‹value›');
    expect(messagePattern("x `a.'a.a@a.aa A `a.'a.a@a.aa y")).toBe('x ‹email› A ‹email› y');
  });

  it('S42: a flow\'s own fingerprint wins, and is kept apart from computed ones', () => {
    expect(errorFingerprint('Customer 1 not found', 'customer-missing')).toBe(errorFingerprint('Something else', 'customer-missing'));
    expect(errorFingerprint('Customer 1 not found', 'customer-missing')).not.toBe(errorFingerprint('Customer 1 not found'));
  });
});

/** Which placeholder a variable part becomes. */
function kindOf(value: string): string {
  return messagePattern(value);
}
