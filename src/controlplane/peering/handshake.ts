/**
 * The peering handshake: one round trip and a half, after which each side knows that the other
 * controls the MoltID key behind its binding, and the binding (uuid, mesh address, endpoint, link
 * kinds, WireGuard key) is fresh. Pure: it takes `now`, randomness and a signer, does no I/O of its
 * own, and returns what to send. The steps that sign are async only because a Minima node signs over
 * RPC; `now` is the time the message arrived, so the timeout does not depend on the signer's speed.
 *
 *   initiator                                   responder
 *   Hello {binding_i, challenge_i}      ->
 *                                       <-      HelloReply {binding_r, challenge_r, sig_r(T_r)}
 *   Proof {sig_i(T_i)}                  ->
 *                                       <-      Result {accepted | reason, link params}
 *
 *   T_r = "moltnet-peering-v1 responder\0" || challenge_i || sha256(binding_i) || sha256(binding_r)
 *   T_i = "moltnet-peering-v1 initiator\0" || challenge_r || sha256(binding_i) || sha256(binding_r)
 *
 * Each response signs the other side's fresh challenge and both bindings, so it proves control of the
 * key now, for this session, and cannot be reflected (the tags differ) or replayed.
 * A binding is checked cheapest first, so a flood is refused before any signature work: size and
 * version, the timestamp window, the mesh address derived from the uuid, the policy's verdict on
 * uuid and address (deny lists, pins), a binding seen before (replay), and only then the signature.
 *
 * States (explicit table below): initiator Start -> AwaitReply -> AwaitResult -> Established;
 * responder Start -> AwaitProof -> Established; any -> Failed (a reason) on a bad message, a
 * refusal or the timeout.
 */
import { createHash, createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { formatIpv6 } from '../../common/address.js';
import { isUuid, uuidToMeshAddress } from '../../common/address.js';
import { decodeBinding, encodeBinding, PEERING_VERSION, type BindingFields, type Envelope, type LinkParams, type SignedBinding } from './messages.js';

export const CHALLENGE_LEN = 32;
/** Bindings older or newer than this (wall clock, ms) are refused as stale. */
export const DEFAULT_WINDOW_MS = 120_000;
/** The whole handshake must finish within this (ms). */
export const DEFAULT_TIMEOUT_MS = 10_000;
const BINDING_TAG = Buffer.from('moltnet-binding-v1\0');
const TAG_RESPONDER = Buffer.from('moltnet-peering-v1 responder\0');
const TAG_INITIATOR = Buffer.from('moltnet-peering-v1 initiator\0');

export type HandshakeState = 'Start' | 'AwaitReply' | 'AwaitResult' | 'AwaitProof' | 'Established' | 'Failed';
type Role = 'initiator' | 'responder';
type MessageKind = 'hello' | 'reply' | 'proof' | 'result' | 'keepalive';

/** Which messages each state takes (anything else fails the handshake); a refusal may come at any time. */
const ACCEPTS: Readonly<Record<Role, Partial<Record<HandshakeState, readonly MessageKind[]>>>> = {
  initiator: { AwaitReply: ['reply', 'result'], AwaitResult: ['result'] },
  responder: { Start: ['hello'], AwaitProof: ['proof'] },
};

/** This node, as a handshake needs it. */
export interface LocalIdentity {
  binding(nowWallMs: number): BindingFields;
  /** Sign with the MoltID key (Ed25519: the raw message; RSA: SHA256withRSA). Minima signs over RPC. */
  sign(data: Buffer): Buffer | Promise<Buffer>;
}

/** A peer whose binding verified and whose key signed this session. */
export interface VerifiedPeer {
  uuid: string;
  /** RFC 5952 text. */
  address: string;
  /** "MOLTID:0x<DER SPKI hex>" */
  moltid: string;
  endpoint: string;
  linkKinds: string[];
  wireguardKey?: Uint8Array;
  wireguardPort?: number;
  key: KeyObject;
  /** The binding as the peer signed it (handed on in peer exchange). */
  signed: SignedBinding;
  /** What its Hello or HelloReply offered ('vxlan', 'gre', 'wireguard', 'relay'). */
  capabilities?: string[];
}

/** The decisions that are not the handshake's own: who may peer, which key a uuid must have. */
export interface PeerPolicy {
  /** A reason to refuse a peer by uuid and address, before any signature work. */
  precheck?(uuid: string, address: string): string | undefined;
  /** A reason to refuse a verified peer (a pinned key that differs, a denied MoltID). */
  check(peer: VerifiedPeer): string | undefined;
  /** The link a responder offers an accepted peer. */
  linkFor?(peer: VerifiedPeer): LinkParams;
}

/** Bindings seen within the window, by hash: a replayed Hello is refused before any signature check. */
export class ReplayCache {
  private readonly seen = new Map<string, number>();
  constructor(private readonly windowMs = DEFAULT_WINDOW_MS, private readonly max = 100_000) {}
  /** True when the binding is new (and remembers it). */
  admit(binding: Uint8Array, nowWallMs: number): boolean {
    const key = createHash('sha256').update(binding).digest('base64');
    if (this.seen.has(key)) return false;
    if (this.seen.size >= this.max) this.expire(nowWallMs);
    if (this.seen.size >= this.max) this.seen.delete(this.seen.keys().next().value!);
    this.seen.set(key, nowWallMs);
    return true;
  }
  private expire(nowWallMs: number): void {
    for (const [k, t] of this.seen) if (nowWallMs - t > 2 * this.windowMs) this.seen.delete(k);
  }
}

export interface HandshakeOptions {
  role: Role;
  local: LocalIdentity;
  policy: PeerPolicy;
  replay: ReplayCache;
  /** Randomness (crypto.randomBytes in a node; fixed in tests). */
  random(n: number): Buffer;
  /** Monotonic ms for the timeout. */
  now: number;
  /** Wall-clock ms for binding timestamps. */
  wallNow: number;
  /** The initiator's expectation: the peer it dialled (refused if the binding names another). */
  expectUuid?: string;
  timeoutMs?: number;
  windowMs?: number;
  capabilities?: string[];
}

export interface Step {
  send: Envelope[];
  state: HandshakeState;
}

export class Handshake {
  state: HandshakeState = 'Start';
  reason: string | undefined;
  peer: VerifiedPeer | undefined;
  /** Initiator: the link the responder offered. */
  link: LinkParams | undefined;
  private readonly deadline: number;
  private readonly windowMs: number;
  private ownBinding: SignedBinding | undefined;
  private ownChallenge: Buffer | undefined;
  private peerBindingBytes: Uint8Array | undefined;

  constructor(private readonly o: HandshakeOptions) {
    this.deadline = o.now + (o.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    this.windowMs = o.windowMs ?? DEFAULT_WINDOW_MS;
  }

  /** The initiator's first message. */
  async start(): Promise<Step> {
    if (this.o.role !== 'initiator' || this.state !== 'Start') return this.fail('start() is the initiator\'s, once');
    this.state = 'AwaitReply';
    this.ownBinding = await this.signedBinding(this.o.wallNow);
    this.ownChallenge = this.o.random(CHALLENGE_LEN);
    return { send: [{ hello: { version: PEERING_VERSION, capabilities: this.caps(), binding: this.ownBinding, challenge: this.ownChallenge } }], state: this.state };
  }

  /** The time the handshake gives up. */
  nextWake(): number {
    return this.done ? Number.POSITIVE_INFINITY : this.deadline;
  }

  get done(): boolean {
    return this.state === 'Established' || this.state === 'Failed';
  }

  tick(now: number): Step {
    if (!this.done && now >= this.deadline) return this.fail('handshake timed out');
    return { send: [], state: this.state };
  }

  /** Feed one message; not re-entrant (the caller awaits each before the next). */
  async receive(env: Envelope, now: number, wallNow: number): Promise<Step> {
    if (this.done) return { send: [], state: this.state };
    if (now >= this.deadline) return this.fail('handshake timed out');
    const kind = Object.keys(env)[0] as MessageKind;
    if (!ACCEPTS[this.o.role][this.state]?.includes(kind)) return this.fail(`unexpected ${kind} in state ${this.state}`);
    switch (kind) {
      case 'hello':
        return this.onHello((env as Extract<Envelope, { hello: unknown }>).hello, wallNow);
      case 'reply':
        return this.onReply((env as Extract<Envelope, { reply: unknown }>).reply, wallNow);
      case 'proof':
        return this.onProof((env as Extract<Envelope, { proof: unknown }>).proof);
      case 'result':
        return this.onResult((env as Extract<Envelope, { result: unknown }>).result);
      default:
        return this.fail(`unexpected ${kind} in state ${this.state}`);
    }
  }

  private async onHello(h: Extract<Envelope, { hello: unknown }>['hello'], wallNow: number): Promise<Step> {
    const refuse = (why: string): Step => this.refuse(why);
    if (h.version !== PEERING_VERSION) return refuse(`peering version ${h.version} is not ${PEERING_VERSION}`);
    if (h.challenge.length !== CHALLENGE_LEN) return refuse(`challenge must be ${CHALLENGE_LEN} bytes`);
    const v = this.verifyBinding(h.binding, wallNow);
    if (typeof v === 'string') return refuse(v);
    this.peer = { ...v, capabilities: capabilityList(h.capabilities) };
    this.peerBindingBytes = h.binding.binding;
    this.state = 'AwaitProof';
    this.ownBinding = await this.signedBinding(wallNow);
    this.ownChallenge = this.o.random(CHALLENGE_LEN);
    const response = await this.o.local.sign(this.transcript(TAG_RESPONDER, h.challenge, h.binding.binding, this.ownBinding.binding));
    return {
      send: [{ reply: { version: PEERING_VERSION, capabilities: this.caps(), binding: this.ownBinding, challenge: this.ownChallenge, response } }],
      state: this.state,
    };
  }

  private async onReply(r: Extract<Envelope, { reply: unknown }>['reply'], wallNow: number): Promise<Step> {
    if (r.version !== PEERING_VERSION) return this.fail(`peering version ${r.version} is not ${PEERING_VERSION}`);
    if (r.challenge.length !== CHALLENGE_LEN) return this.fail(`challenge must be ${CHALLENGE_LEN} bytes`);
    const v = this.verifyBinding(r.binding, wallNow);
    if (typeof v === 'string') return this.fail(v);
    const t = this.transcript(TAG_RESPONDER, this.ownChallenge!, this.ownBinding!.binding, r.binding.binding);
    if (!verifySignature(v.key, t, r.response)) return this.fail('the responder\'s proof of control does not verify');
    this.peer = { ...v, capabilities: capabilityList(r.capabilities) };
    this.state = 'AwaitResult';
    const response = await this.o.local.sign(this.transcript(TAG_INITIATOR, r.challenge, this.ownBinding!.binding, r.binding.binding));
    return { send: [{ proof: { response } }], state: this.state };
  }

  private onProof(p: Extract<Envelope, { proof: unknown }>['proof']): Step {
    const t = this.transcript(TAG_INITIATOR, this.ownChallenge!, this.peerBindingBytes!, this.ownBinding!.binding);
    if (!verifySignature(this.peer!.key, t, p.response)) return this.refuse('the initiator\'s proof of control does not verify');
    const why = this.o.policy.check(this.peer!);
    if (why) return this.refuse(why);
    this.link = this.o.policy.linkFor?.(this.peer!);
    this.state = 'Established';
    return { send: [{ result: { accepted: true, reason: '', ...(this.link ? { link: this.link } : {}) } }], state: this.state };
  }

  private onResult(r: Extract<Envelope, { result: unknown }>['result']): Step {
    if (!r.accepted) return this.fail(`refused by the peer: ${r.reason || 'no reason given'}`);
    // An acceptance is only meaningful once the responder has proved itself (AwaitResult).
    if (this.state !== 'AwaitResult') return this.fail('accepted before the responder proved control of its key');
    const why = this.o.policy.check(this.peer!);
    if (why) return this.fail(why);
    this.link = r.link;
    this.state = 'Established';
    return { send: [], state: this.state };
  }

  /** Cheapest checks first; the signature last. Returns the peer, or why it is refused. */
  private verifyBinding(sb: SignedBinding, wallNow: number): VerifiedPeer | string {
    let b: BindingFields;
    try {
      b = decodeBinding(sb.binding);
    } catch (err) {
      return (err as Error).message;
    }
    if (Math.abs(wallNow - b.timestampMs) > this.windowMs) return `stale binding (timestamp ${Math.round((b.timestampMs - wallNow) / 1000)} s off)`;
    if (!isUuid(b.uuid)) return `binding uuid ${JSON.stringify(b.uuid.slice(0, 40))} is not a UUID`;
    const address = uuidToMeshAddress(b.uuid);
    if (b.meshAddress.length !== 16 || formatIpv6(b.meshAddress) !== address) {
      return `binding address does not derive from uuid ${b.uuid} (expected ${address})`;
    }
    if (this.o.expectUuid !== undefined && b.uuid.toLowerCase() !== this.o.expectUuid.toLowerCase()) {
      return `the peer is ${b.uuid}, not the expected ${this.o.expectUuid}`;
    }
    const pre = this.o.policy.precheck?.(b.uuid.toLowerCase(), address);
    if (pre) return pre;
    if (!this.o.replay.admit(sb.binding, wallNow)) return 'replayed binding';
    const key = bindingKey(b, sb);
    if (typeof key === 'string') return key;
    return {
      uuid: b.uuid.toLowerCase(),
      address,
      moltid: `MOLTID:0x${Buffer.from(b.moltidKey).toString('hex')}`,
      endpoint: b.endpoint,
      linkKinds: b.linkKinds,
      ...(b.wireguardKey ? { wireguardKey: b.wireguardKey } : {}),
      ...(b.wireguardPort ? { wireguardPort: b.wireguardPort } : {}),
      key,
      signed: { binding: sb.binding, signature: sb.signature },
    };
  }

  private signedBinding(wallNow: number): Promise<SignedBinding> {
    return signBinding(this.o.local.binding(wallNow), (d) => this.o.local.sign(d));
  }

  private transcript(tag: Buffer, challenge: Uint8Array, initiatorBinding: Uint8Array, responderBinding: Uint8Array): Buffer {
    const h = (b: Uint8Array) => createHash('sha256').update(b).digest();
    return Buffer.concat([tag, challenge, h(initiatorBinding), h(responderBinding)]);
  }

  private caps(): string[] {
    return this.o.capabilities ?? ['vxlan', 'gre'];
  }

  /** Fail and tell the peer why (responder). */
  private refuse(why: string): Step {
    this.state = 'Failed';
    this.reason = why;
    return { send: [{ result: { accepted: false, reason: why } }], state: this.state };
  }

  private fail(why: string): Step {
    this.state = 'Failed';
    this.reason = why;
    return { send: [], state: this.state };
  }
}

/**
 * A signed binding outside a handshake (a Moltbook post, a LAN beacon, peer exchange): decoded, its
 * address derived from its uuid, its signature checked; no freshness or policy. Returns the fields and
 * the MoltID, or why it does not hold.
 */
export function verifySignedBinding(sb: SignedBinding): { binding: BindingFields; moltid: string; key: KeyObject } | string {
  let b: BindingFields;
  try {
    b = decodeBinding(sb.binding);
  } catch (err) {
    return (err as Error).message;
  }
  if (!isUuid(b.uuid)) return `binding uuid ${JSON.stringify(b.uuid.slice(0, 40))} is not a UUID`;
  const address = uuidToMeshAddress(b.uuid);
  if (b.meshAddress.length !== 16 || formatIpv6(b.meshAddress) !== address) return `binding address does not derive from uuid ${b.uuid} (expected ${address})`;
  const key = bindingKey(b, sb);
  if (typeof key === 'string') return key;
  return { binding: b, moltid: `MOLTID:0x${Buffer.from(b.moltidKey).toString('hex')}`, key };
}

/** The binding's MoltID key, if it is one we take and it signed the binding; else why not. */
function bindingKey(b: BindingFields, sb: SignedBinding): KeyObject | string {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(b.moltidKey), format: 'der', type: 'spki' });
  } catch {
    return 'binding key is not a DER SubjectPublicKeyInfo';
  }
  if (key.asymmetricKeyType !== 'ed25519' && key.asymmetricKeyType !== 'rsa') return `binding key type ${key.asymmetricKeyType} is not Ed25519 or RSA`;
  if (!verifySignature(key, Buffer.concat([BINDING_TAG, sb.binding]), sb.signature)) return 'binding signature does not verify';
  return key;
}

/** Sign a binding as a handshake does (the same tag), for use outside one. */
export async function signBinding(fields: BindingFields, sign: LocalIdentity['sign']): Promise<SignedBinding> {
  const binding = encodeBinding(fields);
  return { binding, signature: await sign(Buffer.concat([BINDING_TAG, binding])) };
}

/** Ed25519 over the message itself; RSA as SHA256withRSA, PKCS#1 v1.5 (as Maxima signs). */
export function verifySignature(key: KeyObject, data: Uint8Array, signature: Uint8Array): boolean {
  try {
    return cryptoVerify(key.asymmetricKeyType === 'ed25519' ? null : 'sha256', data, key, signature);
  } catch {
    return false;
  }
}

/** A peer's capability words, bounded: a hostile list costs nothing to keep. */
function capabilityList(caps: readonly string[] | undefined): string[] {
  return (caps ?? []).slice(0, 16).map((c) => String(c).slice(0, 32));
}
