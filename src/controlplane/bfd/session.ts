/**
 * One BFD session in asynchronous mode (RFC 5880), single hop (RFC 5881) or multihop (RFC 5883): a pure
 * core with no sockets and no clock. Every call takes `now` (milliseconds, the daemon's monotonic Clock);
 * packets go in and out as BFD Control bytes (the UDP payload), the caller doing UDP/IPv6.
 *
 * The timer contract. The session never schedules anything itself; the caller keeps ONE timer per session:
 *
 *   1. After constructing it, and after every receive(), setParams(), setAdminDown(), setAdminUp(), call
 *      `poll(now)`. On a timer firing, call `poll(now)`.
 *   2. `poll(now)` runs what is due (detection timeout, a Final owed, a state-change packet, the jittered
 *      periodic packet) and returns `{ transmit, nextWake }`: at most one packet to send now (UDP to port
 *      3784, or 4784 multihop, from `sourcePort`, hop limit 255), and the absolute time at which it must be
 *      called again (> now, unless poll(now, false) left an expired detection time; Infinity when nothing
 *      is scheduled). Re-arm the timer for nextWake.
 *   3. Calling poll early is harmless (it does nothing that is not due); calling it late only delays.
 *
 * State changes are delivered synchronously to `onStateChange` listeners, after the call that caused them
 * has finished updating the session, as { localDiscriminator, from, to, diag, at }. BFD imports nothing of
 * its users (OSPF, static routes): they subscribe.
 *
 * The state machine is the table FSM below, [state][event] -> { next, diag }, whose first four columns are
 * the [state][received State field] table of RFC 5880 §6.8.6; every change goes through `transition`.
 */
import { ConfigError } from '../../common/errors.js';
import { PORTS } from '../../common/ports.js';
import {
  BFD_STATE_NAMES,
  BfdAuthType,
  BfdDiag,
  BfdPacketError,
  BfdState,
  bfdAuthKeyId,
  bfdAuthSequence,
  bfdControlLen,
  bfdDiagName,
  checkBfdControl,
  emitBfdControl,
  parseBfdControl,
  signBfdControl,
  verifyBfdAuth,
  type BfdAuthRepr,
  type BfdControlRepr,
} from './packet.js';

export const BFD_PORT_SINGLE_HOP = PORTS.bfdSingleHop;
export const BFD_PORT_MULTIHOP = PORTS.bfdMultihop;
export const BFD_SOURCE_PORT_MIN = 49152; // RFC 5881 §4: the source port MUST be in 49152-65535
export const BFD_SOURCE_PORT_MAX = 65535;
/** Hop limit of every BFD packet we send, and the only one accepted on single-hop sessions (RFC 5881 §5). */
export const BFD_GTSM_HOP_LIMIT = 255;
/** §6.8.3: while not Up, bfd.DesiredMinTxInterval is at least one second. */
export const BFD_SLOW_TX_US = 1_000_000;

export const BFD_DEFAULT_DESIRED_MIN_TX_MS = 100;
export const BFD_DEFAULT_REQUIRED_MIN_RX_MS = 100;
export const BFD_DEFAULT_DETECT_MULT = 3;

/**
 * Result of `receive`: 0 accepted, else why the packet was dropped. Includes every BfdPacketError (checks on
 * the bytes alone), then the checks that need the session. Each is its own drop counter.
 */
export const BfdRx = {
  Ok: 0,
  ...BfdPacketError,
  /** Single hop: hop limit not 255 (GTSM, RFC 5881 §5). Multihop: below the configured minimum. */
  HopLimit: -20,
  /** Your Discriminator is not 0 and not this session's. */
  WrongYourDiscriminator: -21,
  /** This session is AdminDown: received packets are discarded (§6.8.6). */
  LocalAdminDown: -22,
  /** Authentication is configured and the A bit is clear. */
  AuthMissing: -23,
  /** The A bit is set and no authentication is configured. */
  AuthUnexpected: -24,
  /** Keyed MD5 or Meticulous Keyed MD5: parsed, not supported. */
  AuthUnsupported: -25,
  /** Another Auth Type than the configured one. */
  AuthTypeMismatch: -26,
  /** Unknown Auth Key ID. */
  AuthKeyId: -27,
  /** Sequence number outside the window (replay). */
  AuthSequence: -28,
  /** Wrong digest or password. */
  AuthDigest: -29,
} as const;
export type BfdRx = (typeof BfdRx)[keyof typeof BfdRx];

const RX_NAMES = new Map<number, string>(Object.entries(BfdRx).map(([name, code]) => [code, name]));

/** The BfdRx name of a code ('Ok', 'HopLimit', ...), for counters and logs. */
export function bfdRxName(code: number): string {
  return RX_NAMES.get(code) ?? `Unknown${code}`;
}

/**
 * FSM events. 0-3 are the State field of a received (accepted) packet, so `FSM[state][receivedState]` is
 * the RFC 5880 §6.8.6 table; then the detection timer and the administrative events (§6.8.16).
 */
export const BfdEvent = {
  RxAdminDown: 0,
  RxDown: 1,
  RxInit: 2,
  RxUp: 3,
  DetectExpired: 4,
  AdminDown: 5,
  AdminUp: 6,
} as const;
export type BfdEvent = (typeof BfdEvent)[keyof typeof BfdEvent];

/** Keep bfd.LocalDiag as it is. */
const KEEP = -1;

interface Transition {
  readonly next: BfdState;
  /** The new bfd.LocalDiag, or KEEP. */
  readonly diag: number;
}

const t = (next: BfdState, diag: number = KEEP): Transition => ({ next, diag });
const { AdminDown: AD, Down: DN, Init: IN, Up: UP } = BfdState;
const NSSD = BfdDiag.NeighborSignaledSessionDown;
const CDTE = BfdDiag.ControlDetectionTimeExpired;
const ADMN = BfdDiag.AdministrativelyDown;
const NONE = BfdDiag.None;

// prettier-ignore
const FSM: readonly (readonly Transition[])[] = [
  //                RxAdminDown   RxDown        RxInit        RxUp          DetectExpired AdminDown     AdminUp
  /* AdminDown */ [ t(AD),        t(AD),        t(AD),        t(AD),        t(AD),        t(AD),        t(DN, NONE) ],
  /* Down      */ [ t(DN),        t(IN),        t(UP, NONE),  t(DN),        t(DN),        t(AD, ADMN),  t(DN)       ],
  /* Init      */ [ t(DN, NSSD),  t(IN),        t(UP, NONE),  t(UP, NONE),  t(DN, CDTE),  t(AD, ADMN),  t(IN)       ],
  /* Up        */ [ t(DN, NSSD),  t(DN, NSSD),  t(UP),        t(UP),        t(DN, CDTE),  t(AD, ADMN),  t(UP)       ],
];

/** What subscribers get on every state change. */
export interface BfdStateChange {
  readonly localDiscriminator: number;
  readonly from: BfdState;
  readonly to: BfdState;
  /** bfd.LocalDiag after the change (why we went Down, 0 on Up). */
  readonly diag: number;
  /** The `now` of the call that made the change. */
  readonly at: number;
}

export type BfdStateListener = (change: BfdStateChange) => void;

export interface BfdAuthOptions {
  /** Simple Password (1), Keyed SHA1 (4) or Meticulous Keyed SHA1 (5). */
  readonly type: typeof BfdAuthType.SimplePassword | typeof BfdAuthType.KeyedSha1 | typeof BfdAuthType.MeticulousKeyedSha1;
  /** Accepted keys; a password is 1-16 bytes, a SHA1 key 1-20. Strings are UTF-8. */
  readonly keys: ReadonlyArray<{ readonly id: number; readonly secret: string | Uint8Array }>;
  /** The key sent; default the first one's id. */
  readonly sendKeyId?: number;
}

export interface BfdSessionOptions {
  /** bfd.LocalDiscr: unique and nonzero (see discriminators.ts). */
  readonly localDiscriminator: number;
  /** RFC 5883 multihop: no GTSM, `minHopLimit` instead; UDP port 4784. Default false. */
  readonly multihop?: boolean;
  /** Multihop only: the lowest hop limit accepted. Default 1 (BIRD 2 sends multihop BFD with 64). */
  readonly minHopLimit?: number;
  /** bfd.DesiredMinTxInterval when Up. Default 100 ms. */
  readonly desiredMinTxMs?: number;
  /** bfd.RequiredMinRxInterval. Default 100 ms; 0 asks the peer to send nothing periodically. */
  readonly requiredMinRxMs?: number;
  /** bfd.DetectMult, 1-255. Default 3. */
  readonly detectMult?: number;
  /** Passive role (§6.1): send nothing until the peer has been heard. Default false (active). */
  readonly passive?: boolean;
  /** Start in AdminDown. Default false (Down). */
  readonly adminDown?: boolean;
  readonly auth?: BfdAuthOptions;
  /** Uniform in [0, 1): jitter, the initial auth sequence number, the source port. Default Math.random. */
  readonly random?: () => number;
  /** UDP source port for this session's packets; default random in 49152-65535. */
  readonly sourcePort?: number;
}

export interface BfdParams {
  readonly desiredMinTxMs?: number;
  readonly requiredMinRxMs?: number;
  readonly detectMult?: number;
}

export interface BfdPollResult {
  /** A BFD Control packet (UDP payload) to send now, or null. */
  readonly transmit: Buffer | null;
  /** Absolute time (ms) of the next call to poll; > now, Infinity when nothing is pending. */
  readonly nextWake: number;
}

export interface BfdReceiveMeta {
  /** The IPv6 Hop Limit the packet arrived with. */
  readonly hopLimit: number;
  readonly now: number;
}

export interface BfdCounters {
  packetsIn: number;
  packetsOut: number;
  /** Drops by BfdRx name. */
  drops: Record<string, number>;
  stateChanges: number;
  /** Transitions into Up. */
  upCount: number;
  /** Transitions out of Up (flaps). */
  downCount: number;
  /** `at` of the last state change; null before the first. */
  lastChangeAt: number | null;
  /**
   * The longest wait between two accepted packets while Up, in ms: how close the session came to its
   * detection time (a session that never flaps but shows 250 of 300 is one scheduling hiccup from it).
   */
  maxRxGapMs: number;
}

/** A plain snapshot for `moltnet show bfd`. */
export interface BfdSessionStatus {
  localDiscriminator: number;
  remoteDiscriminator: number;
  multihop: boolean;
  state: string;
  remoteState: string;
  diag: string;
  remoteDiag: string;
  detectMult: number;
  remoteDetectMult: number;
  desiredMinTxMs: number;
  requiredMinRxMs: number;
  remoteDesiredMinTxMs: number;
  remoteRequiredMinRxMs: number;
  /** The periodic transmit interval in use, before jitter. */
  txIntervalMs: number;
  /** Remote Detect Mult x agreed remote interval; null before the peer is heard. */
  detectionTimeMs: number | null;
  pollInProgress: boolean;
  counters: BfdCounters;
}

const MAX_INTERVAL_US = 0xffffffff;

function msToUs(ms: number, what: string, allowZero: boolean): number {
  const us = Math.round(ms * 1000);
  if (!Number.isFinite(ms) || us > MAX_INTERVAL_US || us < (allowZero ? 0 : 1)) {
    throw new ConfigError(`bfd: ${what} must be ${allowZero ? '>= 0' : '> 0'} ms and fit in 32 bits of microseconds, got ${ms}`);
  }
  return us;
}

function checkMult(mult: number): number {
  if (!Number.isInteger(mult) || mult < 1 || mult > 255) throw new ConfigError(`bfd: multiplier must be 1-255, got ${mult}`);
  return mult;
}

interface AuthState {
  readonly type: BfdAuthOptions['type'];
  readonly keys: ReadonlyMap<number, Uint8Array>;
  readonly sendKeyId: number;
  readonly sendSecret: Uint8Array;
}

function buildAuth(opts: BfdAuthOptions): AuthState {
  const simple = opts.type === BfdAuthType.SimplePassword;
  if (!simple && opts.type !== BfdAuthType.KeyedSha1 && opts.type !== BfdAuthType.MeticulousKeyedSha1) {
    throw new ConfigError(`bfd: unsupported authentication type ${String(opts.type)} (simple 1, keyed SHA1 4, meticulous keyed SHA1 5)`);
  }
  const maxLen = simple ? 16 : 20;
  const keys = new Map<number, Uint8Array>();
  for (const k of opts.keys) {
    const secret = typeof k.secret === 'string' ? Buffer.from(k.secret, 'utf8') : Buffer.from(k.secret);
    if (!Number.isInteger(k.id) || k.id < 0 || k.id > 255) throw new ConfigError(`bfd: auth key id must be 0-255, got ${k.id}`);
    if (secret.length < 1 || secret.length > maxLen) {
      throw new ConfigError(`bfd: auth key ${k.id} must be 1-${maxLen} bytes, got ${secret.length}`);
    }
    if (keys.has(k.id)) throw new ConfigError(`bfd: auth key id ${k.id} given twice`);
    keys.set(k.id, secret);
  }
  const sendKeyId = opts.sendKeyId ?? opts.keys[0]?.id;
  const sendSecret = sendKeyId === undefined ? undefined : keys.get(sendKeyId);
  if (sendKeyId === undefined || sendSecret === undefined) throw new ConfigError('bfd: authentication needs a key to send with');
  return { type: opts.type, keys, sendKeyId, sendSecret };
}

export class BfdSession {
  readonly localDiscriminator: number;
  readonly multihop: boolean;
  readonly sourcePort: number;
  readonly dstPort: number;

  private readonly minHopLimit: number;
  private readonly passive: boolean;
  private readonly random: () => number;
  private readonly auth: AuthState | null;
  private readonly listeners: BfdStateListener[] = [];
  private pendingEvents: BfdStateChange[] = [];

  // Configuration (bfd.DesiredMinTxInterval as configured for Up, bfd.RequiredMinRxInterval, bfd.DetectMult).
  private cfgDesiredMinTxUs: number;
  private cfgRequiredMinRxUs: number;
  private detectMult: number;

  // RFC 5880 §6.8.1 state variables.
  private state: BfdState;
  private localDiag: number;
  private remoteDiscr = 0;
  private remoteState: BfdState = BfdState.Down;
  private remoteDiag = 0;
  private remoteDemand = false;
  private remoteMinRxUs = 1; // "MUST be initialized to 1"
  private remoteDesiredMinTxUs = 0;
  private remoteDetectMult = 0;

  // Timers, §6.8.3. adv* go in our packets; active* are what we go by (they lag adv* during a Poll Sequence
  // for a TX increase or an RX decrease while Up); poll* are the values the current Poll Sequence carries.
  private advDesiredUs: number;
  private advRequiredUs: number;
  private activeDesiredUs: number;
  private activeRequiredUs: number;
  private pollActive = false;
  private pollDesiredUs = 0;
  private pollRequiredUs = 0;
  private finalOwed = false;
  private txNow = true; // the first poll() sends at once
  private lastTxAt = -Infinity;
  private txFactor = 1;
  private lastRxAt: number | null = null;

  // Authentication, §6.7.
  private xmitAuthSeq: number;
  private rcvAuthSeq = 0;
  private authSeqKnown = false;
  private lastAuthRxAt = -Infinity;

  private readonly counters: BfdCounters = {
    packetsIn: 0,
    packetsOut: 0,
    drops: {},
    stateChanges: 0,
    upCount: 0,
    downCount: 0,
    lastChangeAt: null,
    maxRxGapMs: 0,
  };

  constructor(opts: BfdSessionOptions) {
    const d = opts.localDiscriminator;
    if (!Number.isInteger(d) || d < 1 || d > 0xffffffff) throw new ConfigError(`bfd: local discriminator must be 1..2^32-1, got ${d}`);
    this.localDiscriminator = d;
    this.multihop = opts.multihop ?? false;
    this.dstPort = this.multihop ? BFD_PORT_MULTIHOP : BFD_PORT_SINGLE_HOP;
    this.minHopLimit = this.multihop ? (opts.minHopLimit ?? 1) : BFD_GTSM_HOP_LIMIT;
    this.passive = opts.passive ?? false;
    this.random = opts.random ?? Math.random;
    this.cfgDesiredMinTxUs = msToUs(opts.desiredMinTxMs ?? BFD_DEFAULT_DESIRED_MIN_TX_MS, 'desired min TX', false);
    this.cfgRequiredMinRxUs = msToUs(opts.requiredMinRxMs ?? BFD_DEFAULT_REQUIRED_MIN_RX_MS, 'required min RX', true);
    this.detectMult = checkMult(opts.detectMult ?? BFD_DEFAULT_DETECT_MULT);
    this.auth = opts.auth ? buildAuth(opts.auth) : null;
    const port = opts.sourcePort ?? BFD_SOURCE_PORT_MIN + Math.floor(this.random() * (BFD_SOURCE_PORT_MAX - BFD_SOURCE_PORT_MIN + 1));
    if (!Number.isInteger(port) || port < BFD_SOURCE_PORT_MIN || port > BFD_SOURCE_PORT_MAX) {
      throw new ConfigError(`bfd: source port must be ${BFD_SOURCE_PORT_MIN}-${BFD_SOURCE_PORT_MAX}, got ${port}`);
    }
    this.sourcePort = port;
    this.xmitAuthSeq = Math.floor(this.random() * 0x1_0000_0000) >>> 0;
    this.state = opts.adminDown ? BfdState.AdminDown : BfdState.Down;
    this.localDiag = opts.adminDown ? BfdDiag.AdministrativelyDown : BfdDiag.None;
    this.advDesiredUs = this.activeDesiredUs = this.advertisedDesired();
    this.advRequiredUs = this.activeRequiredUs = this.cfgRequiredMinRxUs;
  }

  // -------------------------------------------------------------------------------------------------------
  // Subscribers.

  /** Calls `listener` on every state change; returns the function that unsubscribes it. */
  onStateChange(listener: BfdStateListener): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  // -------------------------------------------------------------------------------------------------------
  // Reading.

  get sessionState(): BfdState {
    return this.state;
  }

  get diag(): number {
    return this.localDiag;
  }

  get remoteDiscriminator(): number {
    return this.remoteDiscr;
  }

  get isPolling(): boolean {
    return this.pollActive;
  }

  /** The periodic transmit interval in ms before jitter: max(our desired min TX, the peer's required min RX). */
  get txIntervalMs(): number {
    return Math.max(this.activeDesiredUs, this.remoteMinRxUs) / 1000;
  }

  /**
   * Detection time in ms (asynchronous mode, §6.8.4): the peer's Detect Mult x max(our required min RX, the
   * peer's last desired min TX); null before the peer is heard.
   */
  get detectionTimeMs(): number | null {
    if (this.remoteDetectMult === 0) return null;
    return (this.remoteDetectMult * Math.max(this.activeRequiredUs, this.remoteDesiredMinTxUs)) / 1000;
  }

  /** A copy of the counters. */
  stats(): BfdCounters {
    return { ...this.counters, drops: { ...this.counters.drops } };
  }

  status(): BfdSessionStatus {
    return {
      localDiscriminator: this.localDiscriminator,
      remoteDiscriminator: this.remoteDiscr,
      multihop: this.multihop,
      state: BFD_STATE_NAMES[this.state],
      remoteState: BFD_STATE_NAMES[this.remoteState],
      diag: bfdDiagName(this.localDiag),
      remoteDiag: bfdDiagName(this.remoteDiag),
      detectMult: this.detectMult,
      remoteDetectMult: this.remoteDetectMult,
      desiredMinTxMs: this.cfgDesiredMinTxUs / 1000,
      requiredMinRxMs: this.cfgRequiredMinRxUs / 1000,
      remoteDesiredMinTxMs: this.remoteDesiredMinTxUs / 1000,
      remoteRequiredMinRxMs: this.remoteMinRxUs / 1000,
      txIntervalMs: this.txIntervalMs,
      detectionTimeMs: this.detectionTimeMs,
      pollInProgress: this.pollActive,
      counters: this.stats(),
    };
  }

  // -------------------------------------------------------------------------------------------------------
  // Commands.

  /**
   * Changes the timers (§6.8.3). A change of desired min TX or required min RX starts a Poll Sequence when
   * Init or Up; while Up, a TX increase and an RX decrease apply only once the peer's Final arrives.
   */
  setParams(p: BfdParams): void {
    const desired = p.desiredMinTxMs === undefined ? this.cfgDesiredMinTxUs : msToUs(p.desiredMinTxMs, 'desired min TX', false);
    const required = p.requiredMinRxMs === undefined ? this.cfgRequiredMinRxUs : msToUs(p.requiredMinRxMs, 'required min RX', true);
    const mult = p.detectMult === undefined ? this.detectMult : checkMult(p.detectMult);
    this.cfgDesiredMinTxUs = desired;
    this.cfgRequiredMinRxUs = required;
    this.detectMult = mult;
    this.syncAdvertised();
  }

  /** AdminDown with diag 7 (§6.8.16): the peer is told and goes Down with diag 3; we ignore its packets. */
  setAdminDown(now: number): void {
    this.transition(BfdEvent.AdminDown, now);
    this.flushEvents();
  }

  /** Leaves AdminDown for Down. */
  setAdminUp(now: number): void {
    this.transition(BfdEvent.AdminUp, now);
    this.flushEvents();
  }

  // -------------------------------------------------------------------------------------------------------
  // Reception (§6.8.6).

  /**
   * Processes a received BFD Control packet: the UDP payload bytes, or an already parsed repr (with
   * authentication in use, pass the bytes: the digest is checked over them). Returns BfdRx.Ok (0) or the
   * negative BfdRx reason it was dropped for; drops are counted per reason. Call poll(now) afterwards.
   */
  receive(packet: Uint8Array | BfdControlRepr, meta: BfdReceiveMeta): number {
    const code = this.receiveInner(packet, meta);
    if (code === BfdRx.Ok) this.counters.packetsIn++;
    else {
      const name = bfdRxName(code);
      this.counters.drops[name] = (this.counters.drops[name] ?? 0) + 1;
    }
    this.flushEvents();
    return code;
  }

  private receiveInner(packet: Uint8Array | BfdControlRepr, meta: BfdReceiveMeta): number {
    const now = meta.now;
    let bytes: Uint8Array;
    let repr: BfdControlRepr;
    if (packet instanceof Uint8Array) {
      const r = parseBfdControl(packet, 0, packet.length);
      if (!r.ok) return r.code;
      bytes = packet;
      repr = r.repr;
    } else {
      // Run the same checks on the canonical bytes of the repr.
      const len = bfdControlLen(packet);
      if (len > 255) return BfdRx.BadAuthLength;
      bytes = Buffer.alloc(len);
      emitBfdControl(packet, bytes, 0);
      const code = checkBfdControl(bytes, 0, len);
      if (code !== 0) return code;
      repr = packet;
    }
    // RFC 5881 §5 (GTSM) for single hop; RFC 5883 leaves multihop to a configured minimum.
    if (meta.hopLimit < this.minHopLimit || meta.hopLimit > 255) return BfdRx.HopLimit;
    if (repr.yourDiscriminator !== 0 && repr.yourDiscriminator !== this.localDiscriminator) return BfdRx.WrongYourDiscriminator;
    const auth = this.checkAuth(bytes, repr, now);
    if (auth !== BfdRx.Ok) return auth;

    this.remoteDiscr = repr.myDiscriminator;
    this.remoteState = repr.state;
    this.remoteDiag = repr.diag;
    this.remoteDemand = repr.demand;
    this.remoteMinRxUs = repr.requiredMinRxUs;
    this.remoteDesiredMinTxUs = repr.desiredMinTxUs;
    this.remoteDetectMult = repr.detectMult;
    if (this.state === BfdState.Up && this.lastRxAt !== null && now - this.lastRxAt > this.counters.maxRxGapMs) {
      this.counters.maxRxGapMs = now - this.lastRxAt;
    }
    this.lastRxAt = now;
    if (repr.final && this.pollActive) this.endPoll();

    if (this.state === BfdState.AdminDown) return BfdRx.LocalAdminDown;
    this.transition(repr.state as BfdEvent, now);
    // §6.8.7: a Poll is answered with a Final "as soon as practicable", never with P and F together.
    if (repr.poll) this.finalOwed = true;
    return BfdRx.Ok;
  }

  /** §6.7 and the A-bit rules of §6.8.6. Commits the received sequence number when the packet passes. */
  private checkAuth(bytes: Uint8Array, repr: BfdControlRepr, now: number): number {
    const got = repr.auth;
    if (got !== null && (got.type === BfdAuthType.KeyedMd5 || got.type === BfdAuthType.MeticulousKeyedMd5)) {
      return BfdRx.AuthUnsupported;
    }
    const a = this.auth;
    if (a === null) return got === null ? BfdRx.Ok : BfdRx.AuthUnexpected;
    if (got === null) return BfdRx.AuthMissing;
    if (got.type !== a.type) return BfdRx.AuthTypeMismatch;
    const keyId = bfdAuthKeyId(bytes, 0);
    const secret = a.keys.get(keyId);
    if (secret === undefined) return BfdRx.AuthKeyId;
    if (a.type === BfdAuthType.SimplePassword) return verifyBfdAuth(bytes, 0, secret) ? BfdRx.Ok : BfdRx.AuthDigest;

    const seq = bfdAuthSequence(bytes, 0);
    const detect = this.detectionTimeMs;
    // bfd.AuthSeqKnown lapses after twice the Detection Time without a packet (§6.8.1).
    if (this.authSeqKnown && detect !== null && now - this.lastAuthRxAt >= 2 * detect) this.authSeqKnown = false;
    if (this.authSeqKnown) {
      const ahead = (seq - this.rcvAuthSeq) >>> 0; // circular 32-bit distance
      const window = 3 * this.detectMult;
      const lowest = a.type === BfdAuthType.MeticulousKeyedSha1 ? 1 : 0;
      if (ahead < lowest || ahead > window) return BfdRx.AuthSequence;
    }
    if (!verifyBfdAuth(bytes, 0, secret)) return BfdRx.AuthDigest;
    this.rcvAuthSeq = seq;
    this.authSeqKnown = true;
    this.lastAuthRxAt = now;
    return BfdRx.Ok;
  }

  // -------------------------------------------------------------------------------------------------------
  // Timers and transmission.

  /**
   * Runs what is due at `now`; see the timer contract at the top of the file. `detect` false leaves an
   * expired detection time for a later poll (the caller first makes sure no packet is still on its way
   * up to receive()); packets due are sent all the same.
   */
  poll(now: number, detect = true): BfdPollResult {
    if (detect && this.detectionExpired(now)) this.expire(now);
    let transmit: Buffer | null = null;
    if (this.mayTransmit()) {
      if (this.finalOwed) {
        transmit = this.buildPacket(false, true);
      } else if (this.txNow || (this.periodicEnabled() && now >= this.nextPeriodicAt())) {
        transmit = this.buildPacket(this.pollActive, false);
      }
      if (transmit !== null) {
        this.finalOwed = false;
        this.txNow = false;
        this.lastTxAt = now;
        this.txFactor = this.jitter();
        this.counters.packetsOut++;
      }
    }
    this.flushEvents();
    return { transmit, nextWake: this.nextWake() };
  }

  /** True when a Detection Time has passed at `now` with nothing received: poll(now) takes the session Down. */
  detectionExpired(now: number): boolean {
    if (this.lastRxAt === null) return false;
    const detect = this.detectionTimeMs;
    return detect !== null && now >= this.lastRxAt + detect;
  }

  /** §6.8.7: the passive role sends nothing until the peer has a discriminator for us to echo. */
  private mayTransmit(): boolean {
    return !(this.passive && this.remoteDiscr === 0);
  }

  /** Periodic packets stop when the peer asks for none (Required Min RX 0) or is in Demand mode (§6.6). */
  private periodicEnabled(): boolean {
    if (!this.mayTransmit() || this.remoteMinRxUs === 0) return false;
    return !(this.remoteDemand && this.state === BfdState.Up && this.remoteState === BfdState.Up);
  }

  private nextPeriodicAt(): number {
    return this.lastTxAt + this.txFactor * this.txIntervalMs;
  }

  private nextWake(): number {
    let wake = Infinity;
    if (this.periodicEnabled()) wake = this.nextPeriodicAt();
    if (this.lastRxAt !== null) {
      const detect = this.detectionTimeMs;
      if (detect !== null) wake = Math.min(wake, this.lastRxAt + detect);
    }
    return wake;
  }

  /** §6.8.7: 75-100% of the interval, 75-90% when bfd.DetectMult is 1. */
  private jitter(): number {
    const r = this.random();
    return this.detectMult === 1 ? 0.75 + 0.15 * r : 0.75 + 0.25 * r;
  }

  /** A Detection Time passed with nothing from the peer (§6.8.4): Down if we were Init or Up; forget it. */
  private expire(now: number): void {
    this.lastRxAt = null;
    this.remoteDiscr = 0;
    this.remoteState = BfdState.Down;
    this.transition(BfdEvent.DetectExpired, now);
  }

  private buildPacket(poll: boolean, final: boolean): Buffer {
    const a = this.auth;
    let auth: BfdAuthRepr | null = null;
    if (a !== null) {
      if (a.type === BfdAuthType.SimplePassword) {
        auth = { type: a.type, keyId: a.sendKeyId, password: a.sendSecret };
      } else {
        // Meticulous: +1 for every packet. Keyed: the RFC allows it, and it keeps us inside any window.
        this.xmitAuthSeq = (this.xmitAuthSeq + 1) >>> 0;
        auth = { type: a.type, keyId: a.sendKeyId, sequence: this.xmitAuthSeq, digest: new Uint8Array(20) };
      }
    }
    const repr: BfdControlRepr = {
      diag: this.localDiag,
      state: this.state,
      poll,
      final,
      cpi: false,
      demand: false,
      detectMult: this.detectMult,
      myDiscriminator: this.localDiscriminator,
      yourDiscriminator: this.remoteDiscr,
      desiredMinTxUs: this.advDesiredUs,
      requiredMinRxUs: this.advRequiredUs,
      requiredMinEchoRxUs: 0,
      auth,
    };
    const buf = Buffer.alloc(bfdControlLen(repr));
    emitBfdControl(repr, buf, 0);
    if (a !== null && a.type !== BfdAuthType.SimplePassword) signBfdControl(buf, 0, a.sendSecret);
    return buf;
  }

  // -------------------------------------------------------------------------------------------------------
  // Poll Sequence (§6.5, §6.8.3).

  /** bfd.DesiredMinTxInterval as advertised: at least 1 s while not Up. */
  private advertisedDesired(): number {
    return this.state === BfdState.Up ? this.cfgDesiredMinTxUs : Math.max(this.cfgDesiredMinTxUs, BFD_SLOW_TX_US);
  }

  /** Re-derives the advertised intervals after a config or state change, and polls if they changed. */
  private syncAdvertised(): void {
    const desired = this.advertisedDesired();
    const required = this.cfgRequiredMinRxUs;
    if (desired === this.advDesiredUs && required === this.advRequiredUs) return;
    this.advDesiredUs = desired;
    this.advRequiredUs = required;
    const up = this.state === BfdState.Up;
    // While Up, sending slower or asking for less waits for the Final; the other directions are safe now.
    if (!up || desired < this.activeDesiredUs) this.activeDesiredUs = desired;
    if (!up || required > this.activeRequiredUs) this.activeRequiredUs = required;
    if ((up || this.state === BfdState.Init) && !this.pollActive) this.startPoll();
    // A change during a Poll Sequence is polled for when the current one ends (endPoll).
  }

  private startPoll(): void {
    this.pollActive = true;
    this.pollDesiredUs = this.advDesiredUs;
    this.pollRequiredUs = this.advRequiredUs;
  }

  /** The peer's Final acknowledges the values the Poll carried. */
  private endPoll(): void {
    this.pollActive = false;
    this.activeDesiredUs = Math.min(this.advDesiredUs, this.pollDesiredUs);
    this.activeRequiredUs = Math.max(this.advRequiredUs, this.pollRequiredUs);
    if (this.advDesiredUs !== this.pollDesiredUs || this.advRequiredUs !== this.pollRequiredUs) this.startPoll();
  }

  // -------------------------------------------------------------------------------------------------------
  // The one place the state changes.

  private transition(event: BfdEvent, now: number): void {
    const from = this.state;
    const tr = FSM[from]![event]!;
    if (tr.diag !== KEEP) this.localDiag = tr.diag;
    if (tr.next === from) return;
    const to = tr.next;
    this.state = to;
    const c = this.counters;
    c.stateChanges++;
    c.lastChangeAt = now;
    if (to === BfdState.Up) c.upCount++;
    if (from === BfdState.Up) c.downCount++;
    // Down/AdminDown end any Poll Sequence: nobody is left to answer it (the next Up starts a new one).
    if (to === BfdState.Down || to === BfdState.AdminDown) this.pollActive = false;
    this.syncAdvertised(); // Up lifts the 1 s floor (and polls), leaving Up restores it
    this.txNow = true; // tell the peer at once
    this.pendingEvents.push({ localDiscriminator: this.localDiscriminator, from, to, diag: this.localDiag, at: now });
  }

  private flushEvents(): void {
    if (this.pendingEvents.length === 0) return;
    const events = this.pendingEvents;
    this.pendingEvents = [];
    for (const e of events) for (const l of [...this.listeners]) l(e);
  }
}
