/**
 * Where Herald may post (S43): a channel's URL is HTTPS on a public address. A private, loopback,
 * link-local or otherwise reserved address is refused, when the channel is saved (an address in
 * the URL) and again when each message connects (an address a name resolves to, by
 * request-filtering-agent), so that a channel cannot turn Herald against its own network.
 * HERALD_CHANNEL_ALLOW names addresses or CIDR ranges allowed all the same (local receivers in
 * tests and development); plain HTTP is allowed only to those.
 */
import ipaddr from 'ipaddr.js';

export interface ChannelAddressPolicy {
  /** Addresses and CIDR ranges allowed although private (HERALD_CHANNEL_ALLOW); empty in production. */
  allow: string[];
}

export const productionPolicy: ChannelAddressPolicy = { allow: [] };

/** The longest channel URL accepted. */
export const maxChannelUrlLength = 2_000;

function allowedAddress(address: ipaddr.IPv4 | ipaddr.IPv6, policy: ChannelAddressPolicy): boolean {
  const plain = address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress() ? (address as ipaddr.IPv6).toIPv4Address() : address;
  return policy.allow.some((entry) => {
    const range = entry.includes('/') ? ipaddr.parseCIDR(entry) : ([ipaddr.parse(entry), entry.includes(':') ? 128 : 32] as const);
    return range[0].kind() === plain.kind() && plain.match(range as [ipaddr.IPv4 | ipaddr.IPv6, number]);
  });
}

/** True when every entry of HERALD_CHANNEL_ALLOW is an address or a CIDR range. */
export function isAllowList(entries: string[]): boolean {
  return entries.every((entry) => (entry.includes('/') ? ipaddr.isValidCIDR(entry) : ipaddr.isValid(entry)));
}

/** Why a channel URL is refused under the policy, or undefined when it is accepted. */
export function channelUrlProblem(text: string, policy: ChannelAddressPolicy): string | undefined {
  if (text.length > maxChannelUrlLength) return `must be at most ${maxChannelUrlLength} characters`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'must be an absolute URL (https://…)';
  }
  if (url.username || url.password) return 'must not carry a user name or password';
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const literal = ipaddr.isValid(host) ? ipaddr.parse(host) : undefined;
  const allowed = literal !== undefined && allowedAddress(literal, policy);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && allowed)) return 'must use https://';
  if (literal && !allowed && (literal.kind() === 'ipv6' && (literal as ipaddr.IPv6).isIPv4MappedAddress() ? (literal as ipaddr.IPv6).toIPv4Address() : literal).range() !== 'unicast') {
    return `must not point at a private, loopback or reserved address (${host})`;
  }
  if (!literal && (host === 'localhost' || host.endsWith('.localhost'))) return `must not point at this machine (${host})`;
  return undefined;
}
