import { describe, expect, it } from 'vitest';
import { clientSubject } from '../src/client-address.ts';

describe('the subject a per-client limit counts', () => {
  it('an IPv4 address is itself', () => {
    expect(clientSubject('203.0.113.7')).toBe('203.0.113.7');
  });

  it('every address of one IPv6 /64 is one client, whatever its spelling', () => {
    const a = clientSubject('2001:db8:1:2::1');
    expect(a).toBe('2001:db8:1:2::/64');
    expect(clientSubject('2001:0db8:0001:0002:ffff:ffff:ffff:ffff')).toBe(a);
    expect(clientSubject('2001:db8:1:2:abcd::9')).toBe(a);
    expect(clientSubject('2001:db8:1:3::1')).not.toBe(a);
  });

  it('an IPv4-mapped IPv6 address counts as its IPv4', () => {
    expect(clientSubject('::ffff:203.0.113.7')).toBe('203.0.113.7');
  });

  it('something that is not an address is kept as it is', () => {
    expect(clientSubject('unknown')).toBe('unknown');
  });
});
