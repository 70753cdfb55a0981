/**
 * Underlay endpoints: "host:port" text (IPv4, [IPv6], or a DNS name) to the 20-byte address records the
 * native socket calls use (IPv6, or IPv4 as ::ffff:a.b.c.d; port big-endian; two zero bytes).
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { ADDR_RECORD_LEN } from '../dataplane/io/native.js';
import { InvalidInputError } from '../common/errors.js';
import type { HostPort } from '../config/schema.js';
import { formatIpv6, parseIpv6 } from '../common/address.js';

/** The address record for an IP literal. */
export function addressRecord(ip: string, port: number): Uint8Array {
  const rec = new Uint8Array(ADDR_RECORD_LEN);
  const fam = isIP(ip);
  if (fam === 4) {
    rec[10] = 0xff;
    rec[11] = 0xff;
    ip.split('.').forEach((p, i) => (rec[12 + i] = Number(p)));
  } else if (fam === 6) {
    const bytes = parseIpv6(ip);
    if (!bytes) throw new InvalidInputError(`bad IPv6 address "${ip}"`);
    rec.set(bytes, 0);
  } else {
    throw new InvalidInputError(`not an IP address: "${ip}"`);
  }
  rec[16] = port >> 8;
  rec[17] = port & 0xff;
  return rec;
}

/** Resolve a host (literal or DNS name) to an address record. */
export async function resolveEndpoint(ep: HostPort): Promise<Uint8Array> {
  if (isIP(ep.host)) return addressRecord(ep.host, ep.port);
  try {
    const { address } = await lookup(ep.host);
    return addressRecord(address, ep.port);
  } catch (err) {
    throw new InvalidInputError(`cannot resolve endpoint host "${ep.host}": ${(err as Error).message}`);
  }
}

/** "[2001:db8::1]:4789" or "192.0.2.1:4789" for a record. */
export function formatRecord(rec: Uint8Array): string {
  const port = (rec[16]! << 8) | rec[17]!;
  const v4mapped = rec.subarray(0, 10).every((b) => b === 0) && rec[10] === 0xff && rec[11] === 0xff;
  if (v4mapped) return `${rec[12]}.${rec[13]}.${rec[14]}.${rec[15]}:${port}`;
  return `[${formatIpv6(rec.subarray(0, 16))}]:${port}`;
}
