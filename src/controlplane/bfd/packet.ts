/**
 * The BFD Control packet (RFC 5880 §4.1) and its optional Authentication Section (§4.2-4.4): a view at fixed
 * offsets over a Buffer, a checked parse into a plain repr, an emit, and the digest/password helpers of §6.7.
 *
 * `checkBfdControl` runs the reception checks of §6.8.6 that depend only on the packet (version, lengths,
 * Detect Mult, Multipoint, discriminators, the shape of the Authentication Section) and returns 0 or a
 * distinct negative `BfdPacketError`, so every drop can be counted by reason. After it returns 0 for
 * [off, off+len) no accessor reads outside the packet. Nothing here throws on packet bytes.
 *
 * Checks that need a session (hop limit, Your Discriminator belonging to us, authentication against the
 * configured keys and sequence numbers) are in session.ts.
 */
import { get32, put32 } from '../../common/bytes.js';
import { createHash, timingSafeEqual } from 'node:crypto';

/*
 * RFC 5880 §4.1, Generic BFD Control Packet Format:
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |Vers |  Diag   |Sta|P|F|C|A|D|M|  Detect Mult  |    Length     |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                       My Discriminator                        |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                      Your Discriminator                       |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                    Desired Min TX Interval                    |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                   Required Min RX Interval                    |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                 Required Min Echo RX Interval                 |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 *   An optional Authentication Section MAY be present (when A is set):
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |   Auth Type   |   Auth Len    |    Authentication Data...     |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Intervals are in microseconds. Length counts the whole packet, Authentication Section included.
 */
export const BFD_VERS_DIAG = 0; // version (high 3 bits), diagnostic (low 5 bits)
export const BFD_STATE_FLAGS = 1; // state (high 2 bits), then P F C A D M
export const BFD_DETECT_MULT = 2;
export const BFD_LENGTH = 3;
export const BFD_MY_DISCR = 4;
export const BFD_YOUR_DISCR = 8;
export const BFD_DESIRED_MIN_TX = 12;
export const BFD_REQUIRED_MIN_RX = 16;
export const BFD_REQUIRED_MIN_ECHO_RX = 20;
export const BFD_HEADER_LEN = 24;

/*
 * RFC 5880 §4.2, Simple Password Authentication Section Format:
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |   Auth Type   |   Auth Len    |  Auth Key ID  |  Password...  |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                              ...                              |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 *   Password: 1 to 16 bytes, so Auth Len = 3 + password length (4..19).
 *
 * RFC 5880 §4.3 (Keyed MD5 and Meticulous Keyed MD5, Auth Len 24) and §4.4 (Keyed SHA1 and Meticulous
 * Keyed SHA1, Auth Len 28):
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |   Auth Type   |   Auth Len    |  Auth Key ID  |   Reserved    |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                        Sequence Number                        |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                  Auth Key/Digest/Hash... (16 or 20 bytes)     |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Offsets below are from the start of the BFD packet.
 */
export const BFD_AUTH_TYPE = 24;
export const BFD_AUTH_LEN = 25;
export const BFD_AUTH_KEY_ID = 26;
export const BFD_AUTH_PASSWORD = 27; // simple password
export const BFD_AUTH_RESERVED = 27; // keyed MD5/SHA1
export const BFD_AUTH_SEQ = 28; // keyed MD5/SHA1
export const BFD_AUTH_DIGEST = 32; // keyed MD5/SHA1

export const BFD_VERSION = 1;
/** The smallest Length with the A bit set (§6.8.6): type, length and at least one byte. */
export const BFD_MIN_AUTH_PACKET_LEN = 26;

export const BFD_MD5_AUTH_LEN = 24;
export const BFD_SHA1_AUTH_LEN = 28;
export const BFD_MD5_DIGEST_LEN = 16;
export const BFD_SHA1_DIGEST_LEN = 20;
export const BFD_MAX_PASSWORD_LEN = 16;

/** Session states (§4.1 "Sta"). */
export const BfdState = { AdminDown: 0, Down: 1, Init: 2, Up: 3 } as const;
export type BfdState = (typeof BfdState)[keyof typeof BfdState];
export const BFD_STATE_NAMES = ['AdminDown', 'Down', 'Init', 'Up'] as const;

/** Diagnostic codes (§4.1 "Diag"); 9-31 are reserved but carried as numbers. */
export const BfdDiag = {
  None: 0,
  ControlDetectionTimeExpired: 1,
  EchoFunctionFailed: 2,
  NeighborSignaledSessionDown: 3,
  ForwardingPlaneReset: 4,
  PathDown: 5,
  ConcatenatedPathDown: 6,
  AdministrativelyDown: 7,
  ReverseConcatenatedPathDown: 8,
} as const;
export type BfdDiag = (typeof BfdDiag)[keyof typeof BfdDiag];

const DIAG_NAMES = [
  'No Diagnostic',
  'Control Detection Time Expired',
  'Echo Function Failed',
  'Neighbor Signaled Session Down',
  'Forwarding Plane Reset',
  'Path Down',
  'Concatenated Path Down',
  'Administratively Down',
  'Reverse Concatenated Path Down',
];

export function bfdDiagName(diag: number): string {
  return DIAG_NAMES[diag] ?? `reserved diagnostic ${diag}`;
}

/** Authentication types (§4.1 "Auth Type"); 0 and 6-255 are reserved. */
export const BfdAuthType = {
  SimplePassword: 1,
  KeyedMd5: 2,
  MeticulousKeyedMd5: 3,
  KeyedSha1: 4,
  MeticulousKeyedSha1: 5,
} as const;
export type BfdAuthType = (typeof BfdAuthType)[keyof typeof BfdAuthType];

/** Flag bits in the byte at BFD_STATE_FLAGS (the low 6 bits). */
export const BFD_FLAG_POLL = 0x20;
export const BFD_FLAG_FINAL = 0x10;
export const BFD_FLAG_CPI = 0x08;
export const BFD_FLAG_AUTH = 0x04;
export const BFD_FLAG_DEMAND = 0x02;
export const BFD_FLAG_MULTIPOINT = 0x01;

// ---------------------------------------------------------------------------------------------------------
// Accessors. Callers have run checkBfdControl (or built the packet); no bounds checks here.

export function bfdVersion(buf: Uint8Array, off: number): number {
  return buf[off + BFD_VERS_DIAG]! >>> 5;
}

export function bfdDiag(buf: Uint8Array, off: number): number {
  return buf[off + BFD_VERS_DIAG]! & 0x1f;
}

export function bfdState(buf: Uint8Array, off: number): BfdState {
  return (buf[off + BFD_STATE_FLAGS]! >>> 6) as BfdState;
}

/** The six flag bits P F C A D M (mask with BFD_FLAG_*). */
export function bfdFlags(buf: Uint8Array, off: number): number {
  return buf[off + BFD_STATE_FLAGS]! & 0x3f;
}

export function bfdDetectMult(buf: Uint8Array, off: number): number {
  return buf[off + BFD_DETECT_MULT]!;
}

export function bfdLength(buf: Uint8Array, off: number): number {
  return buf[off + BFD_LENGTH]!;
}

export function bfdMyDiscriminator(buf: Uint8Array, off: number): number {
  return get32(buf, off + BFD_MY_DISCR);
}

export function bfdYourDiscriminator(buf: Uint8Array, off: number): number {
  return get32(buf, off + BFD_YOUR_DISCR);
}

/** Microseconds. */
export function bfdDesiredMinTx(buf: Uint8Array, off: number): number {
  return get32(buf, off + BFD_DESIRED_MIN_TX);
}

/** Microseconds. */
export function bfdRequiredMinRx(buf: Uint8Array, off: number): number {
  return get32(buf, off + BFD_REQUIRED_MIN_RX);
}

/** Microseconds. */
export function bfdRequiredMinEchoRx(buf: Uint8Array, off: number): number {
  return get32(buf, off + BFD_REQUIRED_MIN_ECHO_RX);
}

/** Only when the A flag is set. */
export function bfdAuthType(buf: Uint8Array, off: number): number {
  return buf[off + BFD_AUTH_TYPE]!;
}

export function bfdAuthLen(buf: Uint8Array, off: number): number {
  return buf[off + BFD_AUTH_LEN]!;
}

export function bfdAuthKeyId(buf: Uint8Array, off: number): number {
  return buf[off + BFD_AUTH_KEY_ID]!;
}

/** Keyed MD5/SHA1 only. */
export function bfdAuthSequence(buf: Uint8Array, off: number): number {
  return get32(buf, off + BFD_AUTH_SEQ);
}

export function setBfdVersionDiag(buf: Uint8Array, off: number, version: number, diag: number): void {
  buf[off + BFD_VERS_DIAG] = ((version & 0x07) << 5) | (diag & 0x1f);
}

export function setBfdStateFlags(buf: Uint8Array, off: number, state: number, flags: number): void {
  buf[off + BFD_STATE_FLAGS] = ((state & 0x03) << 6) | (flags & 0x3f);
}

export function setBfdDetectMult(buf: Uint8Array, off: number, mult: number): void {
  buf[off + BFD_DETECT_MULT] = mult & 0xff;
}

export function setBfdLength(buf: Uint8Array, off: number, length: number): void {
  buf[off + BFD_LENGTH] = length & 0xff;
}

export function setBfdMyDiscriminator(buf: Uint8Array, off: number, v: number): void {
  put32(buf, off + BFD_MY_DISCR, v);
}

export function setBfdYourDiscriminator(buf: Uint8Array, off: number, v: number): void {
  put32(buf, off + BFD_YOUR_DISCR, v);
}

export function setBfdDesiredMinTx(buf: Uint8Array, off: number, us: number): void {
  put32(buf, off + BFD_DESIRED_MIN_TX, us);
}

export function setBfdRequiredMinRx(buf: Uint8Array, off: number, us: number): void {
  put32(buf, off + BFD_REQUIRED_MIN_RX, us);
}

export function setBfdRequiredMinEchoRx(buf: Uint8Array, off: number, us: number): void {
  put32(buf, off + BFD_REQUIRED_MIN_ECHO_RX, us);
}

// ---------------------------------------------------------------------------------------------------------
// Checks.

/** Why `checkBfdControl` refused a packet; 0 means valid. Each is a separate drop counter. */
export const BfdPacketError = {
  /** Fewer than 24 bytes: not even the mandatory section. */
  Truncated: -1,
  /** Version is not 1. */
  BadVersion: -2,
  /** Length is under 24, or under 26 with the A bit set. */
  ShortLength: -3,
  /** Length is more than the UDP payload carries. */
  LengthExceedsPayload: -4,
  /** Detect Mult is 0. */
  ZeroDetectMult: -5,
  /** The Multipoint (M) bit is set. */
  Multipoint: -6,
  /** My Discriminator is 0. */
  ZeroMyDiscriminator: -7,
  /** Your Discriminator is 0 while State is Init or Up. */
  ZeroYourDiscriminator: -8,
  /** A bit set with a reserved Auth Type (0 or 6-255). */
  BadAuthType: -9,
  /** Auth Len wrong for its type (simple 4-19, MD5 24, SHA1 28), or the section runs past Length. */
  BadAuthLength: -10,
} as const;
export type BfdPacketError = (typeof BfdPacketError)[keyof typeof BfdPacketError];

const PACKET_ERROR_MESSAGES: Record<number, string> = {
  [BfdPacketError.Truncated]: 'BFD packet shorter than 24 bytes',
  [BfdPacketError.BadVersion]: 'BFD version is not 1',
  [BfdPacketError.ShortLength]: 'BFD Length under 24 (26 with authentication)',
  [BfdPacketError.LengthExceedsPayload]: 'BFD Length exceeds the UDP payload',
  [BfdPacketError.ZeroDetectMult]: 'BFD Detect Mult is 0',
  [BfdPacketError.Multipoint]: 'BFD Multipoint bit set',
  [BfdPacketError.ZeroMyDiscriminator]: 'BFD My Discriminator is 0',
  [BfdPacketError.ZeroYourDiscriminator]: 'BFD Your Discriminator is 0 in state Init or Up',
  [BfdPacketError.BadAuthType]: 'BFD reserved authentication type',
  [BfdPacketError.BadAuthLength]: 'BFD Auth Len wrong for its type or past Length',
};

export function bfdPacketErrorMessage(code: number): string {
  if (code === 0) return 'valid';
  return PACKET_ERROR_MESSAGES[code] ?? `unknown BFD packet error ${code}`;
}

/** The Auth Len each type requires, or -1 for simple password (a range) and for reserved types. */
function authLenFor(type: number): number {
  switch (type) {
    case BfdAuthType.KeyedMd5:
    case BfdAuthType.MeticulousKeyedMd5:
      return BFD_MD5_AUTH_LEN;
    case BfdAuthType.KeyedSha1:
    case BfdAuthType.MeticulousKeyedSha1:
      return BFD_SHA1_AUTH_LEN;
    default:
      return -1;
  }
}

/**
 * 0 when [off, off+len) (a UDP payload) starts with a BFD Control packet that passes the packet-only checks
 * of RFC 5880 §6.8.6, else a BfdPacketError. Bytes after Length are ignored.
 */
export function checkBfdControl(buf: Uint8Array, off: number, len: number): number {
  if (off < 0 || len < BFD_HEADER_LEN || off + len > buf.length) return BfdPacketError.Truncated;
  if (bfdVersion(buf, off) !== BFD_VERSION) return BfdPacketError.BadVersion;
  const length = bfdLength(buf, off);
  const flags = bfdFlags(buf, off);
  const auth = (flags & BFD_FLAG_AUTH) !== 0;
  if (length < (auth ? BFD_MIN_AUTH_PACKET_LEN : BFD_HEADER_LEN)) return BfdPacketError.ShortLength;
  if (length > len) return BfdPacketError.LengthExceedsPayload;
  if (bfdDetectMult(buf, off) === 0) return BfdPacketError.ZeroDetectMult;
  if ((flags & BFD_FLAG_MULTIPOINT) !== 0) return BfdPacketError.Multipoint;
  if (bfdMyDiscriminator(buf, off) === 0) return BfdPacketError.ZeroMyDiscriminator;
  if (bfdYourDiscriminator(buf, off) === 0) {
    const state = bfdState(buf, off);
    if (state !== BfdState.Down && state !== BfdState.AdminDown) return BfdPacketError.ZeroYourDiscriminator;
  }
  if (auth) {
    const type = bfdAuthType(buf, off);
    const authLen = bfdAuthLen(buf, off);
    if (type === BfdAuthType.SimplePassword) {
      if (authLen < 4 || authLen > 3 + BFD_MAX_PASSWORD_LEN) return BfdPacketError.BadAuthLength;
    } else {
      const want = authLenFor(type);
      if (want < 0) return BfdPacketError.BadAuthType;
      if (authLen !== want) return BfdPacketError.BadAuthLength;
    }
    if (BFD_HEADER_LEN + authLen > length) return BfdPacketError.BadAuthLength;
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------------------
// Repr.

export type BfdAuthRepr =
  | { readonly type: typeof BfdAuthType.SimplePassword; readonly keyId: number; readonly password: Uint8Array }
  | {
      readonly type: Exclude<BfdAuthType, typeof BfdAuthType.SimplePassword>;
      readonly keyId: number;
      readonly sequence: number;
      /** 16 bytes (MD5) or 20 (SHA1): the digest as carried, or zeros before `signBfdControl`. */
      readonly digest: Uint8Array;
    };

export interface BfdControlRepr {
  diag: number;
  state: BfdState;
  poll: boolean;
  final: boolean;
  /** Control Plane Independent (C). */
  cpi: boolean;
  demand: boolean;
  detectMult: number;
  myDiscriminator: number;
  yourDiscriminator: number;
  /** Microseconds. */
  desiredMinTxUs: number;
  /** Microseconds. */
  requiredMinRxUs: number;
  /** Microseconds; 0 = no Echo packets wanted. */
  requiredMinEchoRxUs: number;
  /** Present exactly when the A bit is set. */
  auth: BfdAuthRepr | null;
}

export type BfdParseResult = { ok: true; repr: BfdControlRepr } | { ok: false; code: number; error: string };

/** Checked parse of the UDP payload [off, off+len). The repr owns copies of the auth bytes. */
export function parseBfdControl(buf: Uint8Array, off: number, len: number): BfdParseResult {
  const code = checkBfdControl(buf, off, len);
  if (code !== 0) return { ok: false, code, error: bfdPacketErrorMessage(code) };
  const flags = bfdFlags(buf, off);
  let auth: BfdAuthRepr | null = null;
  if ((flags & BFD_FLAG_AUTH) !== 0) {
    const type = bfdAuthType(buf, off) as BfdAuthType;
    const keyId = bfdAuthKeyId(buf, off);
    const authLen = bfdAuthLen(buf, off);
    if (type === BfdAuthType.SimplePassword) {
      const p = off + BFD_AUTH_PASSWORD;
      auth = { type, keyId, password: Uint8Array.prototype.slice.call(buf, p, p + authLen - 3) };
    } else {
      const d = off + BFD_AUTH_DIGEST;
      auth = {
        type,
        keyId,
        sequence: bfdAuthSequence(buf, off),
        digest: Uint8Array.prototype.slice.call(buf, d, d + authLen - 8),
      };
    }
  }
  return {
    ok: true,
    repr: {
      diag: bfdDiag(buf, off),
      state: bfdState(buf, off),
      poll: (flags & BFD_FLAG_POLL) !== 0,
      final: (flags & BFD_FLAG_FINAL) !== 0,
      cpi: (flags & BFD_FLAG_CPI) !== 0,
      demand: (flags & BFD_FLAG_DEMAND) !== 0,
      detectMult: bfdDetectMult(buf, off),
      myDiscriminator: bfdMyDiscriminator(buf, off),
      yourDiscriminator: bfdYourDiscriminator(buf, off),
      desiredMinTxUs: bfdDesiredMinTx(buf, off),
      requiredMinRxUs: bfdRequiredMinRx(buf, off),
      requiredMinEchoRxUs: bfdRequiredMinEchoRx(buf, off),
      auth,
    },
  };
}

function authSectionLen(auth: BfdAuthRepr): number {
  return auth.type === BfdAuthType.SimplePassword ? 3 + auth.password.length : 8 + auth.digest.length;
}

/** Bytes `emitBfdControl` writes for `repr` (= the Length field). */
export function bfdControlLen(repr: BfdControlRepr): number {
  return BFD_HEADER_LEN + (repr.auth === null ? 0 : authSectionLen(repr.auth));
}

/**
 * Writes `repr` at `off` (the caller provides bfdControlLen(repr) bytes) and returns the length. The digest
 * of keyed authentication is copied from the repr: call `signBfdControl` afterwards to compute it. The
 * Multipoint bit is always 0 and the MD5/SHA1 Reserved byte 0 (§4.3, §4.4).
 */
export function emitBfdControl(repr: BfdControlRepr, buf: Uint8Array, off: number): number {
  const length = bfdControlLen(repr);
  const flags =
    (repr.poll ? BFD_FLAG_POLL : 0) |
    (repr.final ? BFD_FLAG_FINAL : 0) |
    (repr.cpi ? BFD_FLAG_CPI : 0) |
    (repr.auth !== null ? BFD_FLAG_AUTH : 0) |
    (repr.demand ? BFD_FLAG_DEMAND : 0);
  setBfdVersionDiag(buf, off, BFD_VERSION, repr.diag);
  setBfdStateFlags(buf, off, repr.state, flags);
  setBfdDetectMult(buf, off, repr.detectMult);
  setBfdLength(buf, off, length);
  setBfdMyDiscriminator(buf, off, repr.myDiscriminator);
  setBfdYourDiscriminator(buf, off, repr.yourDiscriminator);
  setBfdDesiredMinTx(buf, off, repr.desiredMinTxUs);
  setBfdRequiredMinRx(buf, off, repr.requiredMinRxUs);
  setBfdRequiredMinEchoRx(buf, off, repr.requiredMinEchoRxUs);
  const auth = repr.auth;
  if (auth !== null) {
    buf[off + BFD_AUTH_TYPE] = auth.type;
    buf[off + BFD_AUTH_LEN] = authSectionLen(auth);
    buf[off + BFD_AUTH_KEY_ID] = auth.keyId & 0xff;
    if (auth.type === BfdAuthType.SimplePassword) {
      buf.set(auth.password, off + BFD_AUTH_PASSWORD);
    } else {
      buf[off + BFD_AUTH_RESERVED] = 0;
      put32(buf, off + BFD_AUTH_SEQ, auth.sequence);
      buf.set(auth.digest, off + BFD_AUTH_DIGEST);
    }
  }
  return length;
}

// ---------------------------------------------------------------------------------------------------------
// Authentication (§6.7). `secret` is the configured password / key; callers have checked the packet.

function hashFor(type: number): 'md5' | 'sha1' | null {
  if (type === BfdAuthType.KeyedSha1 || type === BfdAuthType.MeticulousKeyedSha1) return 'sha1';
  if (type === BfdAuthType.KeyedMd5 || type === BfdAuthType.MeticulousKeyedMd5) return 'md5';
  return null;
}

/**
 * The digest of a keyed MD5/SHA1 packet at [off, off+length): the hash over the packet with the Auth Key
 * field replaced by the secret, zero-padded to the field's size (§6.7.3, §6.7.4).
 */
export function bfdAuthDigest(buf: Uint8Array, off: number, secret: Uint8Array): Buffer {
  const type = bfdAuthType(buf, off);
  const algo = hashFor(type);
  const length = bfdLength(buf, off);
  const digestLen = bfdAuthLen(buf, off) - 8;
  if (algo === null || digestLen <= 0) throw new RangeError(`not a keyed MD5/SHA1 packet (type ${type})`);
  const copy = Buffer.from(buf.subarray(off, off + length));
  copy.fill(0, BFD_AUTH_DIGEST, BFD_AUTH_DIGEST + digestLen);
  copy.set(secret.subarray(0, digestLen), BFD_AUTH_DIGEST);
  return createHash(algo).update(copy).digest();
}

/** Fills in the digest of the keyed MD5/SHA1 packet emitted at `off`. */
export function signBfdControl(buf: Uint8Array, off: number, secret: Uint8Array): void {
  buf.set(bfdAuthDigest(buf, off, secret), off + BFD_AUTH_DIGEST);
}

/**
 * True when the checked packet at `off` authenticates with `secret`: the password equals it (simple), or the
 * digest matches (keyed MD5/SHA1). Sequence numbers and key IDs are the session's business.
 */
export function verifyBfdAuth(buf: Uint8Array, off: number, secret: Uint8Array): boolean {
  const type = bfdAuthType(buf, off);
  const authLen = bfdAuthLen(buf, off);
  if (type === BfdAuthType.SimplePassword) {
    const p = buf.subarray(off + BFD_AUTH_PASSWORD, off + BFD_AUTH_PASSWORD + authLen - 3);
    return p.length === secret.length && timingSafeEqual(p, secret);
  }
  if (hashFor(type) === null) return false;
  const want = bfdAuthDigest(buf, off, secret);
  const got = buf.subarray(off + BFD_AUTH_DIGEST, off + BFD_AUTH_DIGEST + authLen - 8);
  return got.length === want.length && timingSafeEqual(got, want);
}
