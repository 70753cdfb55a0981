/**
 * IPv6 (and dotted-quad IPv4) text: the one parser and formatter, used by the packet views' callers, the
 * config, the CLI and the address module alike. Depends on nothing but the error classes.
 */
import { InvalidInputError } from './errors.js';

/**
 * RFC 5952 text for the address at `off`: lowercase hex, no leading zeros, the first longest run of two or
 * more zero groups shortened to `::` (a single zero group stays `0`). An IPv4-mapped address
 * (::ffff:0:0/96) ends in a dotted quad, as RFC 5952 §5 recommends; no other embedded-IPv4 form is used
 * (IPv4-compatible ::a.b.c.d is deprecated, RFC 4291 §2.5.5.1, so it prints as hex).
 */
export function formatIpv6(buf: Uint8Array, off: number): string {
  let bestStart = -1;
  let bestLen = 1; // a run must be longer than 1 to be compressed
  let runStart = -1;
  for (let g = 0; g < 8; g++) {
    const zero = buf[off + 2 * g] === 0 && buf[off + 2 * g + 1] === 0;
    if (zero) {
      if (runStart < 0) runStart = g;
      const runLen = g - runStart + 1;
      if (runLen > bestLen) {
        bestStart = runStart;
        bestLen = runLen;
      }
    } else {
      runStart = -1;
    }
  }
  const mapped = bestStart === 0 && bestLen === 5 && buf[off + 10] === 0xff && buf[off + 11] === 0xff;
  let s = '';
  const groups = mapped ? 6 : 8;
  for (let g = 0; g < groups; g++) {
    if (g === bestStart) {
      s += '::';
      g += bestLen - 1;
      continue;
    }
    if (s.length > 0 && !s.endsWith(':')) s += ':';
    s += ((buf[off + 2 * g]! << 8) | buf[off + 2 * g + 1]!).toString(16);
  }
  if (mapped) s += `:${buf[off + 12]}.${buf[off + 13]}.${buf[off + 14]}.${buf[off + 15]}`;
  return s;
}

/**
 * Parses IPv6 address text into 16 bytes, or throws InvalidInputError naming what is wrong.
 *
 * Accepts the RFC 4291 §2.2 forms: eight groups of 1-4 hex digits (any case), one `::` for one or more zero
 * groups, and a dotted quad as the last 32 bits (decimal, no leading zeros, as inet_pton and the WHATWG URL
 * parser require). Rejects a zone index (`fe80::1%eth0`): sixteen bytes cannot hold the zone, and silently
 * dropping it would send a link-local address out of whatever link comes first. Callers that take
 * scoped addresses split the zone off themselves. Brackets and prefix lengths are rejected too.
 */
export function parseIpv6Address(text: string): Buffer {
  const fail = (why: string): never => badAddress(text, why);
  if (text.length === 0) fail('empty');
  if (text.includes('%')) fail('zone index (%...) not accepted here; remove it and name the interface separately');
  if (text.includes('/')) fail('a prefix length is not part of an address');
  if (text.includes('[') || text.includes(']')) fail('remove the brackets');

  const dbl = text.indexOf('::');
  if (dbl >= 0 && text.indexOf('::', dbl + 1) >= 0) fail('"::" may appear only once');
  const head = dbl >= 0 ? text.slice(0, dbl) : text;
  const tail = dbl >= 0 ? text.slice(dbl + 2) : '';
  const headParts = head === '' ? [] : head.split(':');
  const tailParts = tail === '' ? [] : tail.split(':');
  if (dbl < 0 && headParts.length === 0) fail('empty');

  // The words of each side; a dotted quad (only allowed last) contributes two.
  const words = (parts: string[], isLast: boolean): number[] => {
    const out: number[] = [];
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (p.includes('.')) {
        if (!isLast || i !== parts.length - 1) fail(`an IPv4 dotted quad may only end the address ("${p}")`);
        const v4 = parseDottedQuad(p);
        if (v4 === undefined) return fail(`bad IPv4 part "${p}"`);
        out.push(v4 >>> 16, v4 & 0xffff);
      } else {
        if (p.length === 0) fail('empty group (a single ":" at the start or end, or ":::")');
        if (p.length > 4) fail(`group "${p}" has more than 4 hex digits`);
        if (!/^[0-9a-fA-F]+$/.test(p)) fail(`group "${p}" is not hexadecimal`);
        out.push(parseInt(p, 16));
      }
    }
    return out;
  };
  const hw = words(headParts, dbl < 0);
  const tw = words(tailParts, true);
  const n = hw.length + tw.length;
  if (dbl < 0 && n !== 8) fail(`${n} groups; an address has 8 (or use "::")`);
  if (dbl >= 0 && n > 7) fail(`${n} groups besides "::", which must stand for at least one zero group`);

  const out = Buffer.alloc(16);
  for (let i = 0; i < hw.length; i++) out.writeUInt16BE(hw[i]!, 2 * i);
  for (let i = 0; i < tw.length; i++) out.writeUInt16BE(tw[i]!, 2 * (8 - tw.length + i));
  return out;
}

function badAddress(text: string, why: string): never {
  throw new InvalidInputError(`invalid IPv6 address "${text}": ${why}`);
}

/**
 * A dotted quad ("a.b.c.d": decimal, 0..255 each, no leading zeros, as inet_pton requires) as an unsigned
 * 32-bit number, or undefined. The one parser for IPv4 text, router IDs and area IDs.
 */
export function parseDottedQuad(s: string): number | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let v = 0;
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return undefined;
    const octet = Number(p);
    if (octet > 255) return undefined;
    v = v * 256 + octet;
  }
  return v;
}
