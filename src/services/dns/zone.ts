/**
 * The mesh's DNS zone, pure: names in, answers out (dns-packet does the wire format).
 *
 *   <name>.molt  AAAA   the node's mesh address (this node, its peers, the config); other types: no data
 *   molt         SOA    the zone's apex (also the authority of negative answers, RFC 2308)
 *   <nibbles>.4.7.c.6.f.6.d.6.0.0.d.f.ip6.arpa  PTR  the name of a known mesh address (fd00:6d6f:6c74::/48)
 *   anything else       REFUSED: this is an authoritative server for the mesh, not a resolver
 *
 * Names collide safely: the first entry for a name wins (the caller orders them: this node, then verified
 * peers, then the config), later ones are reported as conflicts. A query that does not decode is answered
 * FORMERR when it has a header, else dropped; responses never come in.
 */
import dnsPacket, { type Answer, type Packet, type Question } from 'dns-packet';
import { formatIpv6, isMeshAddress, parseIpv6 } from '../../common/address.js';

export const ZONE = 'molt';
/** ip6.arpa of fd00:6d6f:6c74::/48: 12 nibbles, least significant first. */
export const REVERSE_ZONE = 'f.d.0.0.6.d.6.f.6.c.7.4'.split('.').reverse().join('.') + '.ip6.arpa';
const TTL = 60;
const RCODES: Record<string, number> = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 };
const NEGATIVE_TTL = 30;
/** RFC 1035 §4.2.1: without EDNS a UDP answer fits in 512 bytes, or is truncated. */
export const UDP_LIMIT = 512;

export interface NameEntry {
  /** A DNS label: [a-z0-9-], 1-63 characters. */
  name: string;
  /** RFC 5952 text, inside the mesh prefix. */
  address: string;
  /** Where the name comes from, for `show dns`. */
  source: string;
}

export interface ZoneCounters {
  queries: number;
  answers: number;
  nxdomain: number;
  nodata: number;
  refused: number;
  formerr: number;
  notimp: number;
  dropped: number;
}

export class MeshZone {
  private byName = new Map<string, NameEntry>();
  private byAddress = new Map<string, NameEntry>();
  readonly counters: ZoneCounters = { queries: 0, answers: 0, nxdomain: 0, nodata: 0, refused: 0, formerr: 0, notimp: 0, dropped: 0 };

  /** Replace the names; returns the conflicts ("name: kept X, ignored Y") and the refused entries. */
  set(entries: readonly NameEntry[]): { conflicts: string[]; invalid: string[] } {
    const byName = new Map<string, NameEntry>();
    const byAddress = new Map<string, NameEntry>();
    const conflicts: string[] = [];
    const invalid: string[] = [];
    for (const e of entries) {
      const name = e.name.toLowerCase();
      const bytes = parseIpv6(e.address);
      if (!/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(name) || !bytes || !isMeshAddress(bytes)) {
        invalid.push(`${e.name} -> ${e.address} (${e.source})`);
        continue;
      }
      const address = formatIpv6(bytes);
      const had = byName.get(name);
      if (had) {
        if (had.address !== address) conflicts.push(`${name}.${ZONE}: kept ${had.address} (${had.source}), ignored ${address} (${e.source})`);
        continue;
      }
      const entry = { name, address, source: e.source };
      byName.set(name, entry);
      if (!byAddress.has(address)) byAddress.set(address, entry);
    }
    this.byName = byName;
    this.byAddress = byAddress;
    return { conflicts, invalid };
  }

  names(): NameEntry[] {
    return [...this.byName.values()];
  }

  /** The answer to one query message, or undefined to send nothing. `udp`: truncate past 512 bytes. */
  answer(query: Uint8Array, udp: boolean): Buffer | undefined {
    this.counters.queries++;
    const formerr = (): Buffer | undefined => {
      if (query.length < 12 || (query[2]! & 0x80) !== 0) {
        this.counters.dropped++;
        return undefined;
      }
      this.counters.formerr++;
      // Only the header can be trusted: echo the id, QR set, opcode kept, RCODE 1 (FORMERR).
      const h = Buffer.alloc(12);
      h[0] = query[0]!;
      h[1] = query[1]!;
      h[2] = 0x80 | (query[2]! & 0x78);
      h[3] = 1;
      return h;
    };
    let q: Packet;
    try {
      q = dnsPacket.decode(Buffer.from(query.buffer, query.byteOffset, query.byteLength));
    } catch {
      return formerr();
    }
    // The answer echoes the questions: one whose name dns-packet cannot write back as it read it does not
    // decode either (written, it would corrupt the answer).
    if (!(q.questions ?? []).every((x) => writableName(x.name))) return formerr();
    if (q.type === 'response') {
      this.counters.dropped++;
      return undefined;
    }
    const reply = (rcode: string, answers: Answer[] = [], authorities: Answer[] = [], aa = true): Buffer => {
      // dns-packet writes the RCODE from the low 4 bits of flags (a `rcode` field is only decoded).
      let flags = (aa ? dnsPacket.AUTHORITATIVE_ANSWER : 0) | ((q.flags ?? 0) & dnsPacket.RECURSION_DESIRED) | RCODES[rcode]!;
      const packet: Packet = { type: 'response', id: q.id ?? 0, flags, questions: q.questions ?? [], answers, authorities };
      let out = dnsPacket.encode(packet);
      if (udp && out.length > UDP_LIMIT) {
        flags |= dnsPacket.TRUNCATED_RESPONSE;
        out = dnsPacket.encode({ ...packet, flags, answers: [], authorities: [] });
      }
      return out;
    };
    if (((q as { opcode?: string }).opcode ?? 'QUERY') !== 'QUERY') {
      this.counters.notimp++;
      return reply('NOTIMP', [], [], false);
    }
    const questions = q.questions ?? [];
    if (questions.length !== 1) {
      this.counters.formerr++;
      return reply('FORMERR', [], [], false);
    }
    const question = questions[0]!;
    const name = question.name.toLowerCase().replace(/\.$/, '');
    if ((question.class ?? 'IN') !== 'IN') {
      this.counters.refused++;
      return reply('REFUSED', [], [], false);
    }
    if (name === ZONE || name.endsWith(`.${ZONE}`)) return this.forward(question, name, reply);
    if (name === REVERSE_ZONE || name.endsWith(`.${REVERSE_ZONE}`)) return this.reverse(question, name, reply);
    this.counters.refused++;
    return reply('REFUSED', [], [], false);
  }

  private forward(q: Question, name: string, reply: (rcode: string, a?: Answer[], auth?: Answer[]) => Buffer): Buffer {
    if (name === ZONE) {
      if (q.type === 'SOA') return this.answered(reply('NOERROR', [soa(ZONE)]));
      return this.nodata(reply, ZONE);
    }
    const label = name.slice(0, -ZONE.length - 1);
    const e = label.includes('.') ? undefined : this.byName.get(label);
    if (!e) {
      this.counters.nxdomain++;
      return reply('NXDOMAIN', [], [soa(ZONE)]);
    }
    if (q.type === 'AAAA' || isAny(q)) return this.answered(reply('NOERROR', [{ type: 'AAAA', name: q.name, ttl: TTL, data: e.address }]));
    return this.nodata(reply, ZONE);
  }

  private reverse(q: Question, name: string, reply: (rcode: string, a?: Answer[], auth?: Answer[]) => Buffer): Buffer {
    const nibbles = name.slice(0, -REVERSE_ZONE.length - 1).split('.');
    const address = name === REVERSE_ZONE ? undefined : addressFromNibbles([...nibbles, ...'f.d.0.0.6.d.6.f.6.c.7.4'.split('.').reverse()]);
    const e = address ? this.byAddress.get(address) : undefined;
    if (!e) {
      if (name === REVERSE_ZONE || (nibbles.length < 20 && nibbles.every((n) => /^[0-9a-f]$/.test(n)))) return this.nodata(reply, REVERSE_ZONE); // an empty non-terminal
      this.counters.nxdomain++;
      return reply('NXDOMAIN', [], [soa(REVERSE_ZONE)]);
    }
    if (q.type === 'PTR' || isAny(q)) return this.answered(reply('NOERROR', [{ type: 'PTR', name: q.name, ttl: TTL, data: `${e.name}.${ZONE}` }]));
    return this.nodata(reply, REVERSE_ZONE);
  }

  private answered(b: Buffer): Buffer {
    this.counters.answers++;
    return b;
  }

  private nodata(reply: (rcode: string, a?: Answer[], auth?: Answer[]) => Buffer, zone: string): Buffer {
    this.counters.nodata++;
    return reply('NOERROR', [], [soa(zone)]);
  }
}

/**
 * Whether dns-packet writes `name` back as the name it decoded. It decodes labels as UTF-8 and joins them
 * with '.': bytes that are not UTF-8 come back as 3 bytes each (which can take a label past 63, and the
 * answer no longer decodes), and a '.' at the edge of a label (or next to a line break) comes back as an
 * empty label that ends the name early, so the rest of the question is read as type and class.
 */
function writableName(name: string): boolean {
  const codec = (dnsPacket as unknown as { name: { encode(n: string): Buffer; decode(b: Buffer, off?: number): string } }).name;
  try {
    return codec.decode(codec.encode(name), 0) === name;
  } catch {
    return false;
  }
}

/** QTYPE * (255): dns-packet's types leave it out. */
function isAny(q: Question): boolean {
  return (q.type as string) === 'ANY';
}

function soa(zone: string): Answer {
  return {
    type: 'SOA',
    name: zone,
    ttl: NEGATIVE_TTL,
    data: { mname: `ns.${ZONE}`, rname: `hostmaster.${ZONE}`, serial: 1, refresh: 3600, retry: 600, expire: 86_400, minimum: NEGATIVE_TTL },
  };
}

/** 32 nibbles, least significant first (as in ip6.arpa), to RFC 5952 text; undefined if they are not that. */
function addressFromNibbles(nibbles: string[]): string | undefined {
  if (nibbles.length !== 32 || !nibbles.every((n) => /^[0-9a-f]$/.test(n))) return undefined;
  const hex = nibbles.reverse().join('');
  const bytes = Buffer.from(hex, 'hex');
  return formatIpv6(bytes);
}

/** The PTR name of an address, for tests and `show dns`. */
export function reverseName(address: string): string {
  const bytes = parseIpv6(address);
  if (!bytes) throw new Error(`not an IPv6 address: ${address}`);
  return `${[...bytes.toString('hex')].reverse().join('.')}.ip6.arpa`;
}
