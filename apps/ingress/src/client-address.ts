import ipaddr from 'ipaddr.js';

/**
 * Who a per-client limit counts: an IPv4 address as it is, an IPv6 address by its /64 (one
 * subscriber line or host gets a whole /64, so counting single addresses would give each client
 * 2^64 fresh budgets). An IPv4-mapped IPv6 address counts as its IPv4.
 */
export function clientSubject(ip: string): string {
  if (!ipaddr.isValid(ip)) return ip;
  const addr = ipaddr.parse(ip);
  if (addr.kind() === 'ipv4') return addr.toString();
  const v6 = addr as ipaddr.IPv6;
  if (v6.isIPv4MappedAddress()) return v6.toIPv4Address().toString();
  const prefix = v6.parts.slice(0, 4).map((p) => p.toString(16)).join(':');
  return `${prefix}::/64`;
}
