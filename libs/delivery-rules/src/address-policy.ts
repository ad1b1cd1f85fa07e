import * as ipaddr from 'ipaddr.js';

/** The verdict on one destination address. `reason` is a short machine-friendly class name. */
export interface AddressVerdict {
  allowed: boolean;
  /**
   * Allowed: `unicast` (plain global unicast), `allowlisted` (inside an allow-listed CIDR) or `hostname` (a name,
   * checked later at connect time). Blocked: the address class, e.g. `loopback`, `private`, `linkLocal`,
   * `carrierGradeNat`, `unspecified`, `broadcast`, `multicast`, `reserved`, `uniqueLocal`, `nat64`, `6to4`,
   * `teredo`, `ipv4Compatible`, `ipv4Translated`, `invalid`; `invalid_url` / `unsupported_scheme` for URLs.
   */
  reason: string;
}

/** ipaddr.js range names that are renamed in verdicts (the others are used as they are). */
const RANGE_ALIASES: Record<string, string> = { rfc6052: 'nat64', rfc6145: 'ipv4Translated' };

/** 2000::/3 is the only IPv6 space IANA allocates as global unicast; everything else is reserved or special. */
const IPV6_GLOBAL_UNICAST = ipaddr.parseCIDR('2000::/3') as [ipaddr.IPv6, number];
/** Deprecated IPv4-compatible addresses (::a.b.c.d); ipaddr.js calls these `unicast`. */
const IPV6_IPV4_COMPATIBLE = ipaddr.parseCIDR('::/96') as [ipaddr.IPv6, number];

type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number];

/**
 * SSRF policy for webhook destinations. An address is allowed only if ipaddr.js classifies it as plain global
 * `unicast` (after unwrapping IPv4-mapped IPv6), or if it falls inside one of the allow-listed CIDRs (for private
 * or test deployments, e.g. `127.0.0.0/8`). Every IPv6 form that embeds an IPv4 address (NAT64, 6to4, Teredo,
 * IPv4-compatible, IPv4-translated) is blocked, as is anything that does not parse as a canonical IP address.
 */
export class AddressPolicy {
  private readonly allow: Cidr[];

  /** @param allowCidrs CIDRs (`10.1.0.0/16`, `::1/128`) or bare addresses (treated as /32 or /128). Throws if one is invalid. */
  constructor(allowCidrs: string[]) {
    this.allow = allowCidrs.map(parseAllowEntry);
  }

  /** Comma-separated allow-list, as kept in configuration. Empty entries are ignored; `''` allows nothing extra. */
  static fromCsv(csv: string): AddressPolicy {
    return new AddressPolicy(
      csv
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0),
    );
  }

  /** The allow-list, normalised (IPv4-mapped IPv6 CIDRs become IPv4 CIDRs). */
  get allowList(): string[] {
    return this.allow.map(([addr, bits]) => `${addr.toString()}/${bits}`);
  }

  /** Checks one IP address (dotted-quad IPv4 or IPv6 text, without brackets). Never throws. */
  check(ip: string): AddressVerdict {
    const addr = parseCanonical(ip);
    if (!addr) return { allowed: false, reason: 'invalid' };
    if (this.allow.some(([net, bits]) => net.kind() === addr.kind() && addr.match(net, bits))) {
      return { allowed: true, reason: 'allowlisted' };
    }
    const range = rangeOf(addr);
    return { allowed: range === 'unicast', reason: range };
  }
}

/** The address class: ipaddr.js's range name, with the IPv6 gaps ipaddr.js leaves as `unicast` closed. */
function rangeOf(addr: ipaddr.IPv4 | ipaddr.IPv6): string {
  const range: string = addr.range();
  if (addr.kind() === 'ipv6' && range === 'unicast') {
    if (addr.match(IPV6_IPV4_COMPATIBLE)) return 'ipv4Compatible';
    if (!addr.match(IPV6_GLOBAL_UNICAST)) return 'reserved';
  }
  return RANGE_ALIASES[range] ?? range;
}

/**
 * Canonical text of an address, or null. IPv4 must be dotted-quad decimal: non-canonical forms (`127.1`, `0x7f.1`,
 * `010.0.0.1`) are rejected, since resolvers disagree on what they mean and neither a resolver nor WHATWG URL
 * produces them. IPv6 is re-serialised by WHATWG URL first, because ipaddr.js misreads the IPv4-compatible form
 * `::a.b.c.d` as IPv4-mapped `::ffff:a.b.c.d` (so `::8.8.8.8` would pass as 8.8.8.8). A zone id is dropped.
 */
function canonicalText(ip: string): string | null {
  if (typeof ip !== 'string') return null;
  if (ipaddr.IPv4.isValidFourPartDecimal(ip)) return ip;
  const bare = ip.split('%')[0];
  if (!bare.includes(':') || !ipaddr.IPv6.isValid(bare)) return null;
  try {
    return new URL(`http://[${bare}]/`).hostname.slice(1, -1);
  } catch {
    return null;
  }
}

/** Parses a canonical address and unwraps IPv4-mapped IPv6. */
function parseCanonical(ip: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  const text = canonicalText(ip);
  if (text === null) return null;
  try {
    return ipaddr.process(text);
  } catch {
    return null;
  }
}

function parseAllowEntry(entry: string): Cidr {
  const [addrText, bitsText, ...rest] = entry.trim().split('/');
  const text = canonicalText(addrText);
  let cidr: Cidr | undefined;
  if (text !== null && rest.length === 0) {
    try {
      if (bitsText === undefined) {
        const addr = ipaddr.parse(text);
        cidr = [addr, addr.kind() === 'ipv4' ? 32 : 128];
      } else if (/^\d{1,3}$/.test(bitsText)) {
        cidr = ipaddr.parseCIDR(`${text}/${bitsText}`);
      }
    } catch {
      cidr = undefined;
    }
  }
  if (!cidr)
    throw new Error(`invalid allow-list entry "${entry}": expected a CIDR such as 10.0.0.0/8 or fd00::/8`);
  const [addr, bits] = cidr;
  if (addr.kind() === 'ipv6' && bits >= 96 && (addr as ipaddr.IPv6).isIPv4MappedAddress()) {
    return [(addr as ipaddr.IPv6).toIPv4Address(), bits - 96];
  }
  return cidr;
}

/**
 * The IP literal in a URL host, or null for a name. `URL.hostname` keeps IPv6 brackets (`[::1]`), which are
 * stripped here; WHATWG URL already normalises IPv4 shorthands (`127.1` → `127.0.0.1`), and any other numeric
 * IPv4 form that reaches this function is normalised the same way (inet_aton rules) so that it is checked, not
 * mistaken for a name.
 */
export function ipLiteralOf(hostname: string): string | null {
  if (hostname.startsWith('[') && hostname.endsWith(']')) {
    const inner = hostname.slice(1, -1);
    return ipaddr.IPv6.isValid(inner) ? inner : null;
  }
  if (ipaddr.IPv6.isValid(hostname)) return hostname;
  if (ipaddr.IPv4.isValidFourPartDecimal(hostname)) return hostname;
  const trimmed = hostname.endsWith('.') ? hostname.slice(0, -1) : hostname;
  if (ipaddr.IPv4.isValid(trimmed)) return ipaddr.IPv4.parse(trimmed).toString();
  return null;
}

/**
 * Checks a webhook URL's destination before any connection: http(s) only; an IP-literal host is checked against
 * the policy; a name is allowed here (its resolved addresses are checked at connect time by the sender).
 */
export function checkUrlDestination(url: string, policy: AddressPolicy): AddressVerdict {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { allowed: false, reason: 'invalid_url' };
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    return { allowed: false, reason: 'unsupported_scheme' };
  }
  const literal = ipLiteralOf(parsed.hostname);
  if (literal === null) return { allowed: true, reason: 'hostname' };
  return policy.check(literal);
}
