/**
 * Local discriminators and session demultiplexing, as a pure table (no sockets).
 *
 * - bfd.LocalDiscr "MUST be unique across all BFD sessions on this system, and nonzero. It SHOULD be set to
 *   a random (but still unique) value" (RFC 5880 §6.8.1): `allocate` draws from an injected RNG.
 * - Demux (RFC 5880 §6.8.6, RFC 5881 §3, RFC 5883 §4): a nonzero Your Discriminator selects the session
 *   alone; a zero one (the peer does not know us yet, State Down/AdminDown) selects by the peer key: the
 *   peer's source address and the interface (single hop), or the (source, destination) address pair
 *   (multihop). A session found by discriminator whose peer key differs is refused as well, so a packet for
 *   one link cannot drive another link's session.
 */

/** Who a session talks to: the peer's address and the interface (single hop) or our address (multihop). */
export interface BfdPeerKey {
  /** The peer's IPv6 address, as text (any one canonical form, used as is). */
  readonly peer: string;
  /** Single hop: the interface (link) name. Multihop: our local address. */
  readonly via: string;
  readonly multihop?: boolean;
}

function keyString(k: BfdPeerKey): string {
  return `${k.multihop ? 'mh' : 'sh'}|${k.peer}|${k.via}`;
}

/** Why `demux` found no session; each a drop counter. */
export const BfdDemuxError = {
  /** Your Discriminator is nonzero and no session has it. */
  UnknownDiscriminator: -40,
  /** Your Discriminator is zero and no session is configured for this peer and interface. */
  UnknownPeer: -41,
  /** Your Discriminator names a session of another peer or interface. */
  PeerMismatch: -42,
} as const;
export type BfdDemuxError = (typeof BfdDemuxError)[keyof typeof BfdDemuxError];

export type BfdDemuxResult<S> = { ok: true; session: S } | { ok: false; code: BfdDemuxError };

interface Entry<S> {
  readonly session: S;
  readonly key: string;
}

export class BfdSessionTable<S> {
  private readonly byDiscr = new Map<number, Entry<S>>();
  private readonly byKey = new Map<string, number>();
  private readonly reserved = new Set<number>();

  /** `random` is uniform in [0, 1); inject a seeded one in tests. */
  constructor(private readonly random: () => number = Math.random) {}

  get size(): number {
    return this.byDiscr.size;
  }

  /** A fresh nonzero discriminator, unique among those allocated and not released. */
  allocate(): number {
    // Linear probing from a random start: unique even with a poor RNG, and at most size + 1 steps.
    let d = Math.floor(this.random() * 0x1_0000_0000) >>> 0;
    for (let i = 0; i <= this.reserved.size + 1; i++) {
      if (d !== 0 && !this.reserved.has(d)) {
        this.reserved.add(d);
        return d;
      }
      d = (d + 1) >>> 0;
    }
    throw new RangeError('bfd: no discriminator left');
  }

  /**
   * Registers `session` under its allocated discriminator and its peer key. Throws when the discriminator
   * is not allocated or already bound, or when the peer key already has a session.
   */
  add(localDiscriminator: number, key: BfdPeerKey, session: S): void {
    if (!this.reserved.has(localDiscriminator)) throw new RangeError(`bfd: discriminator ${localDiscriminator} was not allocated`);
    if (this.byDiscr.has(localDiscriminator)) throw new RangeError(`bfd: discriminator ${localDiscriminator} is in use`);
    const k = keyString(key);
    if (this.byKey.has(k)) throw new RangeError(`bfd: a session for ${key.peer} via ${key.via} exists`);
    this.byDiscr.set(localDiscriminator, { session, key: k });
    this.byKey.set(k, localDiscriminator);
  }

  /** Unbinds the session and releases its discriminator. */
  remove(localDiscriminator: number): void {
    const e = this.byDiscr.get(localDiscriminator);
    if (e !== undefined) {
      this.byDiscr.delete(localDiscriminator);
      this.byKey.delete(e.key);
    }
    this.reserved.delete(localDiscriminator);
  }

  get(localDiscriminator: number): S | undefined {
    return this.byDiscr.get(localDiscriminator)?.session;
  }

  find(key: BfdPeerKey): S | undefined {
    const d = this.byKey.get(keyString(key));
    return d === undefined ? undefined : this.byDiscr.get(d)?.session;
  }

  /** The session a packet with this Your Discriminator from this peer belongs to. */
  demux(yourDiscriminator: number, key: BfdPeerKey): BfdDemuxResult<S> {
    if (yourDiscriminator !== 0) {
      const e = this.byDiscr.get(yourDiscriminator);
      if (e === undefined) return { ok: false, code: BfdDemuxError.UnknownDiscriminator };
      if (e.key !== keyString(key)) return { ok: false, code: BfdDemuxError.PeerMismatch };
      return { ok: true, session: e.session };
    }
    const d = this.byKey.get(keyString(key));
    const e = d === undefined ? undefined : this.byDiscr.get(d);
    return e === undefined ? { ok: false, code: BfdDemuxError.UnknownPeer } : { ok: true, session: e.session };
  }

  sessions(): IterableIterator<S> {
    const it = this.byDiscr.values();
    return (function* () {
      for (const e of it) yield e.session;
    })();
  }
}
