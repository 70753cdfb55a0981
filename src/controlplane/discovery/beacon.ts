/**
 * The LAN discovery beacon: one UDP datagram, a small header and then a SignedBinding exactly as the
 * peering handshake signs it, so a receiver checks it with the same verifySignedBinding. Pure. Decoding
 * untrusted bytes throws nothing but BeaconError, whose message says what was wrong.
 */
import { MoltnetError } from '../../common/errors.js';
import { get16, put16 } from '../../common/bytes.js';
import type { SignedBinding } from '../peering/messages.js';

/*
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |      'M'      |      'N'      |      'B'      |      '1'      |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |  Version = 1  |     Flags     |           Reserved            |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |        Binding Length         |     Binding (an encoded       |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+     moltnet.peering.v1.Binding)
 *   |                              ...                              |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |       Signature Length        |     Signature ...             |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Lengths are big-endian byte counts; the signature ends the datagram (nothing may follow it).
 * Flags and Reserved are sent as zero and ignored on receipt, so a later sender may use them without
 * older receivers dropping its beacons; a new layout takes a new Version.
 */
export const BEACON_MAGIC = 0;
export const BEACON_VERSION = 4;
export const BEACON_FLAGS = 5;
export const BEACON_RESERVED = 6;
export const BEACON_HEADER_LEN = 8;
/** The binding's length field; the binding follows it. */
export const BEACON_BINDING_LEN = 8;
export const BEACON_BINDING = 10;

export const BEACON_MAGIC_BYTES: Readonly<Uint8Array> = Buffer.from('MNB1', 'latin1');
export const BEACON_VERSION_1 = 1;
/** Header, two length fields, nothing else. */
export const BEACON_MIN_LEN = BEACON_HEADER_LEN + 2 + 2;
/** Fits one IPv6 datagram on any link (1280 minimum MTU - 40 IPv6 - 8 UDP, rounded down). */
export const BEACON_MAX_LEN = 1200;

export class BeaconError extends MoltnetError {}

export function encodeBeacon(sb: SignedBinding): Buffer {
  const total = BEACON_MIN_LEN + sb.binding.length + sb.signature.length;
  if (sb.binding.length === 0 || sb.signature.length === 0) throw new BeaconError('a beacon needs a binding and a signature');
  if (total > BEACON_MAX_LEN) throw new BeaconError(`beacon of ${total} bytes is over the ${BEACON_MAX_LEN}-byte limit (binding ${sb.binding.length}, signature ${sb.signature.length})`);
  const out = Buffer.alloc(total);
  out.set(BEACON_MAGIC_BYTES, BEACON_MAGIC);
  out[BEACON_VERSION] = BEACON_VERSION_1;
  put16(out, BEACON_BINDING_LEN, sb.binding.length);
  out.set(sb.binding, BEACON_BINDING);
  const sigLenAt = BEACON_BINDING + sb.binding.length;
  put16(out, sigLenAt, sb.signature.length);
  out.set(sb.signature, sigLenAt + 2);
  return out;
}

/** The SignedBinding a beacon carries (copies: nothing aliases `buf`). */
export function decodeBeacon(buf: Uint8Array): SignedBinding {
  if (buf.length < BEACON_MIN_LEN) throw new BeaconError(`beacon of ${buf.length} bytes is shorter than the ${BEACON_MIN_LEN}-byte minimum`);
  if (buf.length > BEACON_MAX_LEN) throw new BeaconError(`beacon of ${buf.length} bytes is over the ${BEACON_MAX_LEN}-byte limit`);
  for (let i = 0; i < BEACON_MAGIC_BYTES.length; i++) {
    if (buf[BEACON_MAGIC + i] !== BEACON_MAGIC_BYTES[i]) throw new BeaconError('not a MoltNet beacon (bad magic)');
  }
  if (buf[BEACON_VERSION] !== BEACON_VERSION_1) throw new BeaconError(`beacon version ${buf[BEACON_VERSION]} is not ${BEACON_VERSION_1}`);
  const bindingLen = get16(buf, BEACON_BINDING_LEN);
  if (bindingLen === 0) throw new BeaconError('beacon carries an empty binding');
  const sigLenAt = BEACON_BINDING + bindingLen;
  // The binding must leave room for the signature's length field.
  if (sigLenAt + 2 > buf.length) throw new BeaconError(`binding length ${bindingLen} runs past the ${buf.length}-byte beacon`);
  const sigLen = get16(buf, sigLenAt);
  if (sigLen === 0) throw new BeaconError('beacon carries an empty signature');
  const end = sigLenAt + 2 + sigLen;
  if (end > buf.length) throw new BeaconError(`signature length ${sigLen} runs past the ${buf.length}-byte beacon`);
  if (end < buf.length) throw new BeaconError(`${buf.length - end} bytes after the signature`);
  return {
    binding: Buffer.from(buf.subarray(BEACON_BINDING, sigLenAt)),
    signature: Buffer.from(buf.subarray(sigLenAt + 2, end)),
  };
}
