/**
 * The link state database for one area (RFC 2328 §12, RFC 5340 §4.5): three kinds of tables by flooding
 * scope — one link-local table per interface, the area table, the AS table.
 *
 * Ages are not ticked: an entry keeps the age it had when installed and its install time, and its age at
 * `now` is that age plus the whole seconds elapsed, capped at MaxAge (RFC 2328 §12.1.1). Timed work on
 * entries (MaxAge reflooding and removal, LSRefreshTime refresh of our own LSAs) is found by
 * nextAgingEvent() and run by the instance.
 */
import {
  FloodingScope,
  MAX_AGE,
  floodingScope,
  lsaKeyString,
  type Lsa,
  type LsaHeader,
} from './wire/types.js';

export interface LsdbEntry {
  /** lsaKeyString of (type, link state ID, advertising router). */
  readonly key: string;
  /** The instance, as received or originated; header.age is its age at installedAt. */
  lsa: Lsa;
  readonly scope: FloodingScope;
  /** The link (interface) of a link-scope LSA. */
  readonly linkId: number | undefined;
  /** ms. */
  installedAt: number;
  /** ms: when this instance was last sent in reply to an older one (RFC 2328 §13 step 8), if ever. */
  lastSentAt: number | undefined;
  /**
   * Advertised by this router. Cleared when our router ID changes (OspfInstance.changeRouterId): LSAs of
   * the old ID stay as anyone's would, no longer refreshed or re-originated by us.
   */
  self: boolean;
  /** How many neighbors' retransmission lists hold this instance. */
  rxmtRefs: number;
  /** MaxAge reached and handled (flooded; now waiting to be removed). */
  maxAgeHandled: boolean;
}

/** The age of an entry at `now` (seconds, capped at MaxAge). */
export function entryAge(e: LsdbEntry, now: number): number {
  const age = e.lsa.header.age + Math.floor((now - e.installedAt) / 1000);
  return age >= MAX_AGE ? MAX_AGE : age;
}

/** The entry's header with its age at `now`. */
export function entryHeader(e: LsdbEntry, now: number): LsaHeader {
  return { ...e.lsa.header, age: entryAge(e, now) };
}

export function isMaxAge(e: LsdbEntry, now: number): boolean {
  return entryAge(e, now) >= MAX_AGE;
}

/** ms when the entry reaches MaxAge (in the past if it has). */
export function maxAgeAt(e: LsdbEntry): number {
  return e.installedAt + (MAX_AGE - e.lsa.header.age) * 1000;
}

/** RFC 2328 §13.2: do two instances differ in content (a change SPF must see)? */
export function contentsDiffer(a: Lsa, aMaxAge: boolean, b: Lsa, bMaxAge: boolean): boolean {
  if (aMaxAge !== bMaxAge) return true;
  if (a.header.length !== b.header.length) return true;
  return !a.raw.subarray(20, a.header.length).equals(b.raw.subarray(20, b.header.length));
}

export interface InstallResult {
  entry: LsdbEntry;
  /** The instance it replaced, if any. */
  old: LsdbEntry | undefined;
  /** The contents changed (new LSA, different body, MaxAge-ness changed): SPF must run. */
  changed: boolean;
}

export class Lsdb {
  private readonly area = new Map<string, LsdbEntry>();
  private readonly as = new Map<string, LsdbEntry>();
  private readonly links = new Map<number, Map<string, LsdbEntry>>();

  /** The table for an LS type's scope (link-scope: the link's table), created on demand. */
  private table(scope: FloodingScope, linkId: number | undefined, create: boolean): Map<string, LsdbEntry> | undefined {
    if (scope === FloodingScope.Area) return this.area;
    if (scope === FloodingScope.As) return this.as;
    if (linkId === undefined) return undefined;
    let t = this.links.get(linkId);
    if (!t && create) {
      t = new Map();
      this.links.set(linkId, t);
    }
    return t;
  }

  /** The scope an LS type is stored with, or undefined for the reserved scope (dropped). */
  static scopeOf(lsType: number): FloodingScope | undefined {
    const s = floodingScope(lsType);
    return s === FloodingScope.Reserved ? undefined : s;
  }

  get(type: number, linkStateId: number, advertisingRouter: number, linkId: number | undefined): LsdbEntry | undefined {
    const scope = Lsdb.scopeOf(type);
    if (scope === undefined) return undefined;
    return this.table(scope, linkId, false)?.get(lsaKeyString({ type, linkStateId, advertisingRouter }));
  }

  getHeader(h: { type: number; linkStateId: number; advertisingRouter: number }, linkId: number | undefined): LsdbEntry | undefined {
    return this.get(h.type, h.linkStateId, h.advertisingRouter, linkId);
  }

  /**
   * Install an instance (RFC 2328 §13.2), replacing any older one. The caller has removed the old instance
   * from retransmission lists. `linkId` is required for link-scope types.
   */
  install(lsa: Lsa, linkId: number | undefined, now: number, self: boolean): InstallResult {
    const scope = Lsdb.scopeOf(lsa.header.type);
    if (scope === undefined) throw new Error(`LS type 0x${lsa.header.type.toString(16)} has the reserved flooding scope`);
    const t = this.table(scope, linkId, true);
    if (!t) throw new Error(`link-scope LSA 0x${lsa.header.type.toString(16)} installed without a link`);
    const key = lsaKeyString(lsa.header);
    const old = t.get(key);
    const entry: LsdbEntry = {
      key,
      lsa,
      scope,
      linkId: scope === FloodingScope.LinkLocal ? linkId : undefined,
      installedAt: now,
      lastSentAt: undefined,
      self,
      rxmtRefs: 0,
      maxAgeHandled: false,
    };
    t.set(key, entry);
    const changed = !old || contentsDiffer(old.lsa, isMaxAge(old, now), lsa, lsa.header.age >= MAX_AGE);
    return { entry, old, changed };
  }

  /** Remove an entry if it is still the current instance. */
  remove(e: LsdbEntry): boolean {
    const t = this.table(e.scope, e.linkId, false);
    if (!t || t.get(e.key) !== e) return false;
    t.delete(e.key);
    if (e.scope === FloodingScope.LinkLocal && t.size === 0 && e.linkId !== undefined) this.links.delete(e.linkId);
    return true;
  }

  /** Is this entry still the current instance in the database? */
  isCurrent(e: LsdbEntry): boolean {
    return this.table(e.scope, e.linkId, false)?.get(e.key) === e;
  }

  /** Drop a link's link-scope table (the interface is gone). */
  dropLink(linkId: number): LsdbEntry[] {
    const t = this.links.get(linkId);
    this.links.delete(linkId);
    return t ? [...t.values()] : [];
  }

  /** Every entry: link tables, then the area, then the AS table. */
  *entries(): IterableIterator<LsdbEntry> {
    for (const t of this.links.values()) yield* t.values();
    yield* this.area.values();
    yield* this.as.values();
  }

  /** The entries a neighbor on `linkId` may see: that link's table, the area and the AS (RFC 5340 §4.2.2). */
  *entriesForLink(linkId: number): IterableIterator<LsdbEntry> {
    const t = this.links.get(linkId);
    if (t) yield* t.values();
    yield* this.area.values();
    yield* this.as.values();
  }

  /** Area-scope entries (for SPF and the convergence check). */
  areaEntries(): IterableIterator<LsdbEntry> {
    return this.area.values();
  }

  asEntries(): IterableIterator<LsdbEntry> {
    return this.as.values();
  }

  linkEntries(linkId: number): IterableIterator<LsdbEntry> {
    return (this.links.get(linkId) ?? new Map<string, LsdbEntry>()).values();
  }

  get size(): number {
    let n = this.area.size + this.as.size;
    for (const t of this.links.values()) n += t.size;
    return n;
  }
}
