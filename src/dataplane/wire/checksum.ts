/**
 * The Internet checksum (RFC 1071) and the IPv6 pseudo-header (RFC 8200 §8.1).
 *
 * Sums are kept as plain numbers and folded at the end; 16-bit words are read big-endian.
 */

/** One's-complement sum of bytes [off, off+len) added to `initial`, unfolded. */
export function sumBytes(buf: Uint8Array, off: number, len: number, initial = 0): number {
  let sum = initial;
  const end = off + len;
  let i = off;
  for (; i + 1 < end; i += 2) sum += (buf[i]! << 8) | buf[i + 1]!;
  if (i < end) sum += buf[i]! << 8;
  return sum;
}

/** Fold a running sum into 16 bits and complement it. */
export function finishChecksum(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

/**
 * Sum of the IPv6 pseudo-header:
 *
 *   +  Source Address (16) + Destination Address (16)
 *   +  Upper-Layer Packet Length (32)  +  zero (24) | Next Header (8)
 */
export function pseudoHeaderSum(
  src: Uint8Array,
  srcOff: number,
  dst: Uint8Array,
  dstOff: number,
  upperLength: number,
  nextHeader: number,
): number {
  let sum = sumBytes(src, srcOff, 16);
  sum = sumBytes(dst, dstOff, 16, sum);
  sum += (upperLength >>> 16) + (upperLength & 0xffff) + nextHeader;
  return sum;
}

/**
 * Checksum of an upper-layer message (ICMPv6, UDP, OSPFv3) inside an IPv6 packet whose header starts at
 * `ipOff`. The message occupies [l4Off, l4Off+l4Len); its checksum field must be zero, or the result is the
 * verification value (0 when the stored checksum is right).
 */
export function upperLayerChecksum(
  buf: Uint8Array,
  ipOff: number,
  l4Off: number,
  l4Len: number,
  nextHeader: number,
): number {
  const sum = pseudoHeaderSum(buf, ipOff + 8, buf, ipOff + 24, l4Len, nextHeader);
  return finishChecksum(sumBytes(buf, l4Off, l4Len, sum));
}
