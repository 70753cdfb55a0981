/**
 * What a received LAN beacon is worth (pure; takes `now`). Checks run cheapest first, so a flood costs
 * no signature work: the per-source budget, the beacon's framing, the binding's encoding, our own uuid
 * (our beacon heard back over a bridge, or a copy of it), and only then the signature.
 *
 * Freshness is not checked here: beacons are re-sent every interval and the peering handshake refuses
 * a stale binding anyway, while a receiver whose clock is off would otherwise hear nobody. The
 * candidate carries the binding's timestamp for whoever wants to judge it.
 */
import { isUuid, normalizeUuid, uuidToMeshAddress } from '../../common/address.js';
import { verifySignedBinding } from '../peering/handshake.js';
import { decodeBinding, type BindingFields, type SignedBinding } from '../peering/messages.js';
import { decodeBeacon } from './beacon.js';

/** A node heard on a LAN, its binding verified. Every beacon makes one (a discovery service dedupes). */
export interface LanCandidate {
  /** Lowercase 8-4-4-4-12. */
  uuid: string;
  /** Its mesh address, RFC 5952. */
  address: string;
  /** "MOLTID:0x<DER SPKI hex>" */
  moltid: string;
  /** The underlay host:port it announces, as signed. */
  endpoint: string;
  /** The interface the beacon came in on. */
  interface: string;
  /** The beacon's source address (with %interface when link-local). */
  from: string;
  binding: BindingFields;
  /** The beacon's binding and signature, to pass on (peer exchange) without re-signing. */
  signed: SignedBinding;
  /** The receiver's clock (monotonic ms). */
  seenAt: number;
}

export type DropCounter = 'rx_bad' | 'rx_unverified' | 'rx_own' | 'rx_ratelimited';

export type BeaconVerdict = { candidate: LanCandidate } | { drop: DropCounter; reason: string };

export interface ReceiverOptions {
  ownUuid: string;
  /** The budget's window (ms): the beacon interval. */
  windowMs: number;
  /** Beacons one source may send per window; the rest are dropped unread. */
  maxPerSource: number;
  /** Sources remembered at once; when full the ones whose window is over go first, then the oldest. */
  maxSources?: number;
}

const DEFAULT_MAX_SOURCES = 1024;

export class BeaconReceiver {
  private readonly own: string;
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(private readonly o: ReceiverOptions) {
    this.own = normalizeUuid(o.ownUuid);
  }

  receive(buf: Uint8Array, iface: string, from: string, now: number): BeaconVerdict {
    if (!this.admit(`${iface} ${from}`, now)) return { drop: 'rx_ratelimited', reason: `over ${this.o.maxPerSource} beacons from ${from} in ${this.o.windowMs} ms` };
    let signed: SignedBinding;
    let fields: BindingFields;
    try {
      signed = decodeBeacon(buf);
      fields = decodeBinding(signed.binding);
    } catch (err) {
      return { drop: 'rx_bad', reason: (err as Error).message };
    }
    if (isUuid(fields.uuid) && normalizeUuid(fields.uuid) === this.own) return { drop: 'rx_own', reason: 'our own uuid' };
    const v = verifySignedBinding(signed);
    if (typeof v === 'string') return { drop: 'rx_unverified', reason: v };
    const uuid = normalizeUuid(v.binding.uuid);
    return {
      candidate: {
        uuid,
        address: uuidToMeshAddress(uuid),
        moltid: v.moltid,
        endpoint: v.binding.endpoint,
        interface: iface,
        from,
        binding: v.binding,
        signed,
        seenAt: now,
      },
    };
  }

  /** Sources currently remembered (for tests and `show`). */
  get sources(): number {
    return this.windows.size;
  }

  private admit(key: string, now: number): boolean {
    let w = this.windows.get(key);
    if (!w || now - w.start >= this.o.windowMs) {
      if (w) this.windows.delete(key);
      else this.makeRoom(now);
      // Re-inserted at each new window, so the map stays ordered by window start (oldest first).
      w = { start: now, count: 0 };
      this.windows.set(key, w);
    }
    w.count++;
    return w.count <= this.o.maxPerSource;
  }

  private makeRoom(now: number): void {
    const max = this.o.maxSources ?? DEFAULT_MAX_SOURCES;
    if (this.windows.size < max) return;
    for (const [k, w] of this.windows) {
      if (now - w.start < this.o.windowMs) break;
      this.windows.delete(k);
    }
    while (this.windows.size >= max) this.windows.delete(this.windows.keys().next().value!);
  }
}
