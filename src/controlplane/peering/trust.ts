/**
 * Who may peer: the peering policy the handshake asks (handshake.ts PeerPolicy).
 *
 *   deny      MoltIDs or mesh addresses that are always refused (checked first)
 *   allow     when not empty, only these MoltIDs or mesh addresses may peer
 *   pins      a uuid's MoltID from the config (`peers[].moltid`) must match; otherwise the first
 *             successful handshake pins it (as SSH's known_hosts) and a later one with another key
 *             for the same uuid is refused
 * Pure: the caller persists pins() in the state directory and passes them back at start.
 */
import type { PeerPolicy, VerifiedPeer } from './handshake.js';

/** MOLTID:0x<lowercase hex>; any other entry (a mesh address) lowercased. */
export function canonicalEntry(s: string): string {
  return /^moltid:/i.test(s) ? `MOLTID:${s.slice(7).toLowerCase()}` : s.toLowerCase();
}

export interface TrustOptions {
  /** uuid -> MoltID from the config. */
  configured?: ReadonlyMap<string, string>;
  /** uuid -> MoltID pinned by earlier handshakes. */
  pinned?: ReadonlyMap<string, string>;
  allow?: readonly string[];
  deny?: readonly string[];
}

export class TrustPolicy implements PeerPolicy {
  private readonly configured: Map<string, string>;
  private readonly pinned: Map<string, string>;
  private readonly allow: Set<string>;
  private readonly deny: Set<string>;

  constructor(o: TrustOptions = {}) {
    const norm = (m?: ReadonlyMap<string, string>) => new Map([...(m ?? [])].map(([u, k]) => [u.toLowerCase(), canonicalEntry(k)]));
    this.configured = norm(o.configured);
    this.pinned = norm(o.pinned);
    this.allow = new Set((o.allow ?? []).map(canonicalEntry));
    this.deny = new Set((o.deny ?? []).map(canonicalEntry));
  }

  precheck(_uuid: string, address: string): string | undefined {
    if (this.deny.has(address)) return `mesh address ${address} is denied`;
    return undefined;
  }

  check(peer: VerifiedPeer): string | undefined {
    const moltid = canonicalEntry(peer.moltid);
    if (this.deny.has(moltid)) return `MoltID of ${peer.uuid} is denied`;
    if (this.deny.has(peer.address)) return `mesh address ${peer.address} is denied`;
    if (this.allow.size > 0 && !this.allow.has(moltid) && !this.allow.has(peer.address)) return `${peer.uuid} is not on the allow list`;
    const want = this.configured.get(peer.uuid);
    if (want !== undefined && want !== moltid) return `${peer.uuid} presented another MoltID than the one configured for it`;
    const pin = this.pinned.get(peer.uuid);
    if (want === undefined && pin !== undefined && pin !== moltid) return `${peer.uuid} presented another MoltID than the one pinned at its first handshake`;
    return undefined;
  }

  /** Remember the key of an accepted peer; true when that is a new pin. */
  pin(peer: VerifiedPeer): boolean {
    if (this.configured.has(peer.uuid) || this.pinned.has(peer.uuid)) return false;
    this.pinned.set(peer.uuid, canonicalEntry(peer.moltid));
    return true;
  }

  pins(): [string, string][] {
    return [...this.pinned];
  }
}
