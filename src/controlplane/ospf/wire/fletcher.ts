/**
 * The LSA checksum: the Fletcher checksum of ISO 8473 Annex C (RFC 905 Annex B) as OSPF uses it
 * (RFC 2328 §12.1.7, unchanged in RFC 5340 §A.4.2): computed over the whole LSA except the LS age, i.e.
 * from byte 2 to the end, with the checksum field (LSA bytes 16-17) taken as zero while computing.
 *
 * A right checksum makes both running sums of the LSA from byte 2 zero modulo 255; a computed checksum is
 * never 0 (its first byte is 1..255), so a zero field is always wrong.
 */

/** Offset of the checksum field in an LSA, and of the first byte the checksum covers. */
export const LSA_CHECKSUM_OFFSET = 16;
export const LSA_CHECKSUM_START = 2;

/** Bytes summed between two reductions modulo 255: small enough that c1 stays an exact integer. */
const CHUNK = 4096;

/**
 * The two running sums (c0, c1) modulo 255 of buf[off .. off+len), with the two bytes at
 * off+zeroAt taken as zero when zeroAt >= 0.
 */
function fletcherSums(buf: Uint8Array, off: number, len: number, zeroAt: number): [number, number] {
  let c0 = 0;
  let c1 = 0;
  for (let start = 0; start < len; start += CHUNK) {
    const end = Math.min(len, start + CHUNK);
    for (let i = start; i < end; i++) {
      const b = i === zeroAt || i === zeroAt + 1 ? 0 : buf[off + i]!;
      c0 += b;
      c1 += c0;
    }
    c0 %= 255;
    c1 %= 255;
  }
  return [c0, c1];
}

/**
 * The Fletcher checksum of buf[off .. off+len) to be stored at off+checksumAt (two bytes inside the
 * range, taken as zero), such that the sums of the whole range come out zero.
 */
export function fletcherChecksum(buf: Uint8Array, off: number, len: number, checksumAt: number): number {
  const [c0, c1] = fletcherSums(buf, off, len, checksumAt);
  let x = ((len - checksumAt - 1) * c0 - c1) % 255;
  if (x <= 0) x += 255;
  let y = 510 - c0 - x;
  if (y > 255) y -= 255;
  return (x << 8) | y;
}

/** The checksum for the LSA of `length` bytes at `off` (header included; age and checksum field ignored). */
export function lsaChecksum(buf: Uint8Array, off: number, length: number): number {
  if (length < LSA_CHECKSUM_OFFSET + 2) return 0;
  return fletcherChecksum(buf, off + LSA_CHECKSUM_START, length - LSA_CHECKSUM_START, LSA_CHECKSUM_OFFSET - LSA_CHECKSUM_START);
}

/** Computes the checksum of the LSA at `off` and writes it into bytes 16-17; returns it. */
export function setLsaChecksum(buf: Uint8Array, off: number, length: number): number {
  const sum = lsaChecksum(buf, off, length);
  buf[off + LSA_CHECKSUM_OFFSET] = sum >>> 8;
  buf[off + LSA_CHECKSUM_OFFSET + 1] = sum & 0xff;
  return sum;
}

/** True when the stored checksum of the LSA of `length` bytes at `off` is right (and not zero). */
export function verifyLsaChecksum(buf: Uint8Array, off: number, length: number): boolean {
  if (length < LSA_CHECKSUM_OFFSET + 2 || off < 0 || off + length > buf.length) return false;
  if (buf[off + LSA_CHECKSUM_OFFSET] === 0 && buf[off + LSA_CHECKSUM_OFFSET + 1] === 0) return false;
  const [c0, c1] = fletcherSums(buf, off + LSA_CHECKSUM_START, length - LSA_CHECKSUM_START, -2);
  return c0 === 0 && c1 === 0;
}
