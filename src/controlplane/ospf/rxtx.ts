/**
 * Packet reception checks and transmission (BIRD's packet.c): every generic check happens here, once,
 * before dispatch by type (RFC 5340 §4.2.2 / RFC 2328 §8.2):
 *
 *   1. the link is one of our interfaces and it is up;
 *   2. the IPv6 destination is AllSPFRouters (ff02::5) or our link-local; AllDRouters (ff02::6) is ignored
 *      (no DR on point-to-point links);
 *   3. the packet decodes (length, version 3, known type, body lengths);
 *   4. the checksum over the IPv6 pseudo-header — or, when the interface has an RFC 7166 key, the
 *      authentication trailer instead (RFC 7166 §4.2: with the trailer the checksum is neither computed nor
 *      checked) and its sequence number (never lower than the last from that router);
 *   5. area ID and instance ID match the interface;
 *   6. the packet is not from our own router ID: from our own address it is our own packet come back (a
 *      looped link), dropped as own_router_id; from any other address another router uses our router ID
 *      — once it authenticates, that is duplicate router ID evidence (ctx.routerIdClash), and dropped;
 *   7. the source is a link-local address (RFC 5340 §2.5).
 * The hop limit is not checked (FRR sends unicast OSPF with 64, multicast with 1).
 */
import { ALL_SPF_ROUTERS, MAX_AGE, OspfOption, PacketType, formatRouterId, type Lsa, type OspfPacket } from './wire/types.js';
import { parseIpv6Address, IPV6_HEADER_LEN } from '../../dataplane/wire/ipv6.js';
import { count, type Ctx } from './context.js';
import { IfState, type Iface } from './interface.js';
import { decodePacket, encodePacket, lsaBytesWithAge, verifyAuth, type OutgoingPacket } from './codec.js';
import { entryAge, type LsdbEntry } from './lsdb.js';

export const ALL_SPF = parseIpv6Address(ALL_SPF_ROUTERS);
export const ALL_DR = parseIpv6Address('ff02::6');

export const OSPF_HEADER_LEN = 16;
/** RFC 7166 trailer with an HMAC-SHA-256 digest. */
export const AUTH_TRAILER_LEN = 16 + 32;

/** The Options we send in Hello, DD and our LSAs: an IPv6 router that handles AS-external-LSAs. */
export function ourOptions(iface?: Iface): number {
  let o = OspfOption.V6 | OspfOption.E | OspfOption.R;
  if (iface?.cfg.auth) o |= OspfOption.AT;
  return o;
}

/** Bytes available for a packet body on the interface (IPv6 MTU minus headers and trailer). */
export function bodyBudget(iface: Iface): number {
  return iface.cfg.mtu - IPV6_HEADER_LEN - OSPF_HEADER_LEN - (iface.cfg.auth ? AUTH_TRAILER_LEN : 0);
}

export interface Received {
  iface: Iface;
  pkt: OspfPacket;
}

/** Generic checks (the list above). Returns the decoded packet, or undefined after counting the drop. */
export function checkReceived(
  ctx: Ctx,
  linkId: number,
  src: Buffer,
  dst: Buffer,
  packet: Buffer,
  now: number,
): Received | undefined {
  const drop = (reason: string): undefined => {
    count(ctx, `drop_${reason}`);
    return undefined;
  };
  const iface = ctx.ifaces.get(linkId);
  if (!iface || iface.state === IfState.Down) return drop('no_interface');
  if (dst.length !== 16 || src.length !== 16) return drop('bad_address');
  // RFC 5340 §2.5: OSPF packets on a link come from the sender's link-local address.
  if (src[0] !== 0xfe || (src[1]! & 0xc0) !== 0x80) return drop('source_not_link_local');
  if (!dst.equals(ALL_SPF) && !dst.equals(ctx.linkLocal)) {
    return drop(dst.equals(ALL_DR) ? 'all_dr_routers' : 'bad_destination');
  }
  const auth = iface.cfg.auth;
  const dec = decodePacket(packet, src, dst, { checksum: !auth });
  if (!dec.ok) {
    const reason = /checksum/i.test(dec.error) ? 'checksum' : /version/i.test(dec.error) ? 'version' : 'malformed';
    ctx.log.debug({ iface: iface.cfg.name, error: dec.error }, 'OSPF packet dropped');
    return drop(reason);
  }
  const pkt = dec.repr;
  if (pkt.header.areaId !== ctx.areaId) return drop('area_mismatch');
  if (pkt.header.instanceId !== iface.cfg.instanceId) return drop('instance_mismatch');
  if (pkt.header.routerId === ctx.routerId) {
    if (src.equals(ctx.linkLocal)) return drop('own_router_id');
    // Evidence that makes us change our router ID must be as trustworthy as any packet we act on.
    if (auth && !verifyAuth(packet, src, auth).ok) return drop('auth_failed');
    ctx.routerIdClash(linkId, src, pkt.type, now);
    return drop('router_id_conflict');
  }
  if (auth) {
    const v = verifyAuth(packet, src, auth);
    if (!v.ok) {
      ctx.log.debug({ iface: iface.cfg.name, from: formatRouterId(pkt.header.routerId), error: v.error }, 'OSPF auth failed');
      return drop('auth_failed');
    }
    // RFC 7166 §4.6: the sequence number must not decrease (kept per router and packet type, since some
    // implementations count per type).
    const seqKey = `${pkt.header.routerId}:${pkt.type}`;
    const last = iface.authSeqRx.get(seqKey);
    if (last !== undefined && v.sequence < last) return drop('auth_replay');
    iface.authSeqRx.set(seqKey, v.sequence);
  }
  count(ctx, `rx_${TYPE_NAMES[pkt.type]}`);
  return { iface, pkt };
}

export const TYPE_NAMES: Record<number, string> = { 1: 'hello', 2: 'dd', 3: 'lsr', 4: 'lsu', 5: 'lsack' };

/** Encode (checksum or trailer filled in) and send one packet on an interface. */
export function sendPacket(ctx: Ctx, iface: Iface, dst: Buffer, p: Omit<OutgoingPacket, 'header'>): Buffer {
  const out = {
    ...p,
    header: { routerId: ctx.routerId, areaId: ctx.areaId, instanceId: iface.cfg.instanceId },
  } as OutgoingPacket;
  let txAuth;
  if (iface.cfg.auth) {
    iface.authSeq += 1n;
    txAuth = { ...iface.cfg.auth, sequence: iface.authSeq };
  }
  const bytes = encodePacket(out, ctx.linkLocal, dst, txAuth);
  count(ctx, `tx_${TYPE_NAMES[p.type]}`);
  ctx.io.send(iface.cfg.linkId, dst, bytes);
  return bytes;
}

/**
 * Pack LSAs into LSUs no bigger than the interface allows, and send. Each LSA goes out as its stored bytes
 * (the LSU encoder copies `raw`), with the age it has now plus InfTransDelay (RFC 2328 §13.3).
 */
export function sendLsas(ctx: Ctx, iface: Iface, dst: Buffer, entries: LsdbEntry[], now: number): void {
  const budget = bodyBudget(iface) - 4;
  const delay = iface.cfg.transmitDelay;
  let batch: Lsa[] = [];
  let size = 0;
  const flush = (): void => {
    if (batch.length === 0) return;
    sendPacket(ctx, iface, dst, { type: PacketType.LinkStateUpdate, body: { lsas: batch } });
    batch = [];
    size = 0;
  };
  for (const e of entries) {
    const age = entryAge(e, now);
    const txAge = age >= MAX_AGE ? MAX_AGE : Math.min(MAX_AGE, age + delay);
    const lsa: Lsa = { header: { ...e.lsa.header, age: txAge }, body: e.lsa.body, raw: lsaBytesWithAge(e.lsa, txAge) };
    if (size > 0 && size + lsa.header.length > budget) flush();
    batch.push(lsa);
    size += lsa.header.length;
  }
  flush();
}
