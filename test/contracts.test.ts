import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isIsoTimestamp } from '../contracts/timestamp.js';
import { isPlainAddress } from '../contracts/email-address.js';
import { breaksLine, flattenOneLine, unstorableJson, unstorableText } from '../contracts/text.js';
import { checkErrorReport, checkConnectionStatusRequest, checkSuccessReport } from '../contracts/error-report.js';
import { checkCatalogShape } from '../contracts/catalog.js';
import { messageText } from '../contracts/message-text.js';

/** Text with anything a caller could send: every code unit, lone surrogates and NUL included. */
const anyText = fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((n) => String.fromCharCode(n)), maxLength: 40 });

describe('contracts: the pure rules of what Herald accepts', () => {
  it('S35: a timestamp is a real instant with a zone: impossible days, hours and year 0 are refused', () => {
    for (const good of ['2026-11-27T10:15:00Z', '2024-02-29T00:00Z', '0001-01-01T00:00:00+00:00', '2026-11-27T10:15:00.123456789-05:30', '9999-12-31T23:59:59Z']) {
      expect(isIsoTimestamp(good), good).toBe(true);
    }
    for (const bad of ['2026-02-30T00:00Z', '2026-02-29T00:00Z', '0000-01-01T00:00Z', '2026-11-27T24:00Z', '2026-11-27T10:60Z', '2026-13-01T00:00Z',
      '2026-11-27T10:15:60Z', '2026-11-27T10:15:00', '2026-11-27', 'yesterday', '2026-11-27T10:15:00+16:00']) {
      expect(isIsoTimestamp(bad), bad).toBe(false);
    }
  });

  it('S35: every date-time that passes is one JavaScript (and so PostgreSQL) reads as the same calendar day', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date('0001-01-02T00:00:00Z'), max: new Date('9999-12-30T00:00:00Z'), noInvalidDate: true }), (date) => {
        const text = date.toISOString();
        expect(isIsoTimestamp(text)).toBe(true);
        expect(new Date(text).toISOString()).toBe(text);
      }),
    );
  });

  it('S37: an address is a plain addr-spec; groups, comments, display names and controls are refused', () => {
    for (const good of ['ops@acme.example', 'first.last+tag@mail.acme.example', "o'brien@acme.example", 'x@a-b.example']) {
      expect(isPlainAddress(good), good).toBe(true);
    }
    for (const bad of ['grp:evil@evil.example', 'grp:evil@evil.example;', 'a(comment)@x.example', 'Name <a@x.example>', '"quoted"@x.example',
      'a@x.example\r\nBcc: b@y.example', 'a@[127.0.0.1]', 'a@localhost', 'a..b@x.example', '.a@x.example', 'a@x..example', 'a@-x.example',
      'a b@x.example', 'a@x.example,b@y.example', `${'a'.repeat(65)}@x.example`, 'a@x.example\u0000', 'ä@x.example']) {
      expect(isPlainAddress(bad), JSON.stringify(bad)).toBe(false);
    }
  });

  it('S19, S37: text shown on one line has no line breaker and no direction control, whatever it was', () => {
    expect(flattenOneLine('Stag\u202Eing\u0085next\u2028line\r\nend\u2066')).toBe('Staging next line end');
    expect(messageText('ab😀', 3)).toBe('ab… [cut]');
    fc.assert(
      fc.property(anyText, (text) => {
        const flat = messageText(text, 500);
        expect(breaksLine(flat)).toBe(false);
        expect(flat).not.toMatch(/[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/);
      }),
    );
  });

  it('S35: NUL and lone surrogates are named as unstorable, in text and anywhere in JSON', () => {
    expect(unstorableText('a\u0000b')).toMatch(/NUL/);
    expect(unstorableText('a\ud800b')).toMatch(/lone surrogate/);
    expect(unstorableText('ok ✓ 😀')).toBeUndefined();
    expect(unstorableJson({ list: [{ deep: 'x\u0000' }] })).toMatch(/NUL/);
    expect(unstorableJson({ ['key\udc00']: 1 })).toMatch(/lone surrogate/);
  });

  it('S2, S35: any value given as a report is refused with named fields, or is storable text through and through', () => {
    const error = fc.record(
      {
        traceKey: fc.oneof(anyText, fc.anything()),
        message: fc.oneof(anyText, fc.anything()),
        code: fc.oneof(anyText, fc.constant(undefined)),
        occurredAt: fc.oneof(fc.constant(undefined), anyText, fc.date({ noInvalidDate: true }).map((d) => d.toISOString())),
        record: fc.oneof(fc.constant(undefined), fc.jsonValue(), fc.anything()),
      },
      { requiredKeys: [] },
    );
    const batch = fc.record({ environment: fc.constantFrom('prod', 'Bad Id', 7), flow: fc.constant('orders'), reportId: fc.constantFrom('run-1', ''), errors: fc.oneof(fc.array(error, { maxLength: 4 }), fc.anything()) }, { requiredKeys: [] });
    fc.assert(
      fc.property(fc.oneof(batch, fc.anything()), (input) => {
        const problems = checkErrorReport(input);
        for (const p of problems) {
          // A field at its path (`errors[2].message`), or an unknown key named as it was given.
          expect(p.field.length).toBeGreaterThan(0);
          expect(p.message.length).toBeGreaterThan(0);
        }
        if (problems.length === 0) {
          const errors = (input as { errors: Record<string, unknown>[] }).errors;
          for (const e of errors) {
            for (const field of ['traceKey', 'message', 'code', 'step'] as const) {
              if (typeof e[field] === 'string') expect(unstorableText(e[field])).toBeUndefined();
            }
            expect(unstorableJson(e.record)).toBeUndefined();
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it('S2: an error\'s key is errorKey, or id (its old name), not both; a key repeated under either name is refused where it repeats', () => {
    const report = (...errors: object[]) => ({ environment: 'prod', flow: 'orders', reportId: 'r-1', errors: errors.map((e) => ({ traceKey: 'T-1', message: 'm', ...e })) });
    expect(checkErrorReport(report({ errorKey: 'e-1' }, { id: 'e-2' }))).toEqual([]);
    expect(checkErrorReport(report({ errorKey: 'e-1', id: 'e-1' }))).toEqual([{ field: 'errors[0].id', message: 'is the old name of errorKey: give errorKey alone' }]);
    expect(checkErrorReport(report({ errorKey: 'e-1' }, { id: 'e-1' }))).toEqual([{ field: 'errors[1].id', message: 'repeats the error key "e-1" of an earlier error in this report' }]);
    expect(checkErrorReport(report({ id: 'e-1' }, { errorKey: 'e-1' }))).toEqual([{ field: 'errors[1].errorKey', message: 'repeats the error key "e-1" of an earlier error in this report' }]);
  });

  it('S2: success and connection reports name every problem, unknown fields (__proto__ too) included', () => {
    expect(checkSuccessReport({ environment: 'prod', flow: 'orders', traceKeys: ['a\u0000'] })).toEqual([
      { field: 'traceKeys[0]', message: 'holds a NUL character (U+0000), which cannot be stored' },
    ]);
    expect(checkConnectionStatusRequest(JSON.parse('{"environment":"prod","connection":"erp","status":"down","__proto__":{"x":1}}'))).toEqual([
      { field: 'status', message: 'must be "online" or "offline"' },
      { field: '__proto__', message: 'unknown field' },
    ]);
  });

  it('S2, S37: any value given as a catalog is refused with named paths, never a crash', () => {
    const shapes = fc.oneof(
      fc.anything(),
      fc.dictionary(fc.constantFrom('accounts', 'users', 'environments', 'flows', '__proto__', 'constructor', 'extra'), fc.anything()),
      fc.record({ users: fc.array(fc.oneof(fc.constant(null), fc.record({ account: anyText, email: fc.oneof(anyText, fc.integer()), role: anyText }))) }),
    );
    fc.assert(
      fc.property(shapes, (input) => {
        const { problems } = checkCatalogShape(input);
        for (const p of problems) {
          expect(typeof p.field).toBe('string');
          expect(p.message).not.toMatch(/insert into|select |TypeError/i);
        }
      }),
      { numRuns: 500 },
    );
    expect(checkCatalogShape(JSON.parse('{"accounts":{"id":"a"},"users":[null,{"account":"a","email":5,"role":"owner"}],"__proto__":[]}')).problems).toEqual([
      { field: 'accounts', message: 'must be a list' },
      { field: 'users[0]', message: 'must be an object' },
      { field: 'users[1].email', message: expect.stringMatching(/^must be a plain email address/) },
      { field: '__proto__', message: expect.stringMatching(/^unknown section/) },
    ]);
  });
});
