/**
 * Email addresses as Herald accepts them: a plain addr-spec (`local@domain`, RFC 5322's
 * dot-atom on both sides), so mail goes exactly where the catalog says (S37). Group syntax
 * (`grp:a@b`), comments (`a(x)@b`), display names, quoted local parts, IP literals and
 * control characters are refused.
 */
import { z } from 'zod';

const atom = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+";
const label = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const plainAddressPattern = new RegExp(`^${atom}(?:\\.${atom})*@${label}(?:\\.${label})+$`);

/** True for a plain addr-spec of at most 254 characters whose local part has at most 64. */
export function isPlainAddress(value: string): boolean {
  const at = value.lastIndexOf('@');
  return value.length <= 254 && at > 0 && at <= 64 && plainAddressPattern.test(value);
}

export const plainAddressMessage = 'must be a plain email address (name@example.com): no display name, group, comment or control character';

/** A plain email address, compared in lower case. */
export const plainAddress = z
  .string({ error: plainAddressMessage })
  .refine(isPlainAddress, { error: plainAddressMessage })
  .transform((value) => value.toLowerCase());
