/**
 * The mesh-wide agent registry, pure: records in (each a node's signed self-description), verdicts out.
 * The peering service floods what is new over its sessions; this decides what is new.
 *
 *   verify    the binding as a handshake checks it (address derives from uuid, signed by its key), the
 *             info signed by the same key, its timestamp not in the future (beyond the skew) nor expired
 *   trust     a uuid whose MoltID this node pinned (or was configured with) must come with that key
 *   newest    per uuid the record with the newest info timestamp wins; equal or older ones are dropped,
 *             which is what ends the flood
 *   names     the first verified record for a name keeps it; a later one of another node is a conflict
 *   bounds    at most `maxRecords` nodes (new ones refused when full), records expire `maxAgeMs` after
 *             their timestamp unless refreshed
 */
import { createHash } from 'node:crypto';
import { formatIpv6 } from '../../common/address.js';
import { verifySignature, verifySignedBinding } from './handshake.js';
import { decodeRegistryInfo, type RegistryInfoFields, type RegistryRecord } from './messages.js';
import { canonicalEntry } from './trust.js';

export const REGISTRY_TAG = Buffer.from('moltnet-registry-v1\0');

export interface RegistryEntry {
  uuid: string;
  address: string;
  moltid: string;
  info: RegistryInfoFields;
  record: RegistryRecord;
}

export type RegistryVerdict = { status: 'new'; entry: RegistryEntry } | { status: 'old' } | { status: 'refused'; reason: string };

export interface RegistryOptions {
  maxRecords: number;
  maxAgeMs: number;
  /** How far in the future a timestamp may be (clocks differ). */
  skewMs: number;
}

/** Conflicts kept for `show registry`: a mesh with many duplicate names must not grow this without end. */
const MAX_CONFLICTS = 64;

export class MeshRegistry {
  private readonly byUuid = new Map<string, RegistryEntry>();
  private readonly nameOwner = new Map<string, string>();
  /** Name conflicts, each once, the latest last (a conflicting record is refreshed every few minutes). */
  readonly conflicts: string[] = [];
  readonly counters = { accepted: 0, old: 0, refused: 0, expired: 0, full: 0 };

  constructor(private readonly opts: RegistryOptions) {}

  private noteConflict(text: string): void {
    const at = this.conflicts.indexOf(text);
    if (at >= 0) this.conflicts.splice(at, 1);
    this.conflicts.push(text);
    if (this.conflicts.length > MAX_CONFLICTS) this.conflicts.shift();
  }

  /** Take a record if it verifies and is newer than what this node has. `pins`: uuid -> MoltID entry. */
  accept(record: RegistryRecord, wallNow: number, pins: ReadonlyMap<string, string>): RegistryVerdict {
    const v = verifySignedBinding(record.binding);
    if (typeof v === 'string') return this.refuse(v);
    let info: RegistryInfoFields;
    try {
      info = decodeRegistryInfo(record.info);
    } catch (err) {
      return this.refuse((err as Error).message);
    }
    if (!verifySignature(v.key, Buffer.concat([REGISTRY_TAG, record.info]), record.infoSignature)) return this.refuse('registry info signature does not verify');
    const uuid = v.binding.uuid.toLowerCase();
    const pinned = pins.get(uuid);
    if (pinned !== undefined && canonicalEntry(pinned) !== canonicalEntry(v.moltid)) return this.refuse(`${uuid} comes with another MoltID than the one pinned for it`);
    if (info.timestampMs > wallNow + this.opts.skewMs) return this.refuse('registry info timestamp is in the future');
    if (info.timestampMs + this.opts.maxAgeMs < wallNow) return this.refuse('registry info has expired');
    if (info.name !== '' && !/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(info.name)) return this.refuse(`registry name ${JSON.stringify(info.name.slice(0, 70))} is not a DNS label`);
    const have = this.byUuid.get(uuid);
    if (have) {
      if (have.moltid !== v.moltid && pinned === undefined) return this.refuse(`${uuid} comes with another MoltID than its earlier records`);
      if (info.timestampMs <= have.info.timestampMs) {
        this.counters.old++;
        return { status: 'old' };
      }
    } else if (this.byUuid.size >= this.opts.maxRecords) {
      this.counters.full++;
      return this.refuse(`the registry is full (${this.opts.maxRecords} nodes)`);
    }
    const entry: RegistryEntry = {
      uuid,
      address: formatIpv6(v.binding.meshAddress),
      moltid: v.moltid,
      info: { ...info, capabilities: info.capabilities.slice(0, 16), services: info.services.slice(0, 16) },
      record,
    };
    if (have && have.info.name !== info.name && this.nameOwner.get(have.info.name) === uuid) this.nameOwner.delete(have.info.name);
    if (info.name !== '') {
      const owner = this.nameOwner.get(info.name);
      if (owner === undefined) this.nameOwner.set(info.name, uuid);
      else if (owner !== uuid) this.noteConflict(`${info.name}.molt: kept ${owner}, ignored ${uuid}`);
    }
    this.byUuid.set(uuid, entry);
    this.counters.accepted++;
    return { status: 'new', entry };
  }

  /** Drop what was not refreshed in time; returns the uuids dropped. */
  expire(wallNow: number): string[] {
    const gone: string[] = [];
    for (const [uuid, e] of this.byUuid) {
      if (e.info.timestampMs + this.opts.maxAgeMs >= wallNow) continue;
      this.byUuid.delete(uuid);
      if (this.nameOwner.get(e.info.name) === uuid) this.nameOwner.delete(e.info.name);
      this.counters.expired++;
      gone.push(uuid);
    }
    return gone;
  }

  entries(): RegistryEntry[] {
    return [...this.byUuid.values()];
  }

  get(uuid: string): RegistryEntry | undefined {
    return this.byUuid.get(uuid);
  }

  /** Whether this entry holds its name (first verified record wins). */
  ownsName(e: RegistryEntry): boolean {
    return e.info.name !== '' && this.nameOwner.get(e.info.name) === e.uuid;
  }

  /** A short digest of what this node knows (for `show registry`: equal digests, equal registries). */
  digest(): string {
    const h = createHash('sha256');
    for (const e of [...this.byUuid.values()].sort((a, b) => (a.uuid < b.uuid ? -1 : 1))) h.update(`${e.uuid}:${e.info.timestampMs};`);
    return h.digest('hex').slice(0, 16);
  }

  private refuse(reason: string): RegistryVerdict {
    this.counters.refused++;
    return { status: 'refused', reason };
  }
}
