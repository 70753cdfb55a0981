/**
 * Data-plane counters live in typed arrays (in a SharedArrayBuffer when the forwarding plane runs in a
 * worker), so the hot path increments a slot and the control plane reads them without messages.
 */
import { MAX_LINK_ID } from '../common/limits.js';

/** Node-wide counters. Drops are counted by reason; every dropped packet lands in exactly one slot. */
export const NODE_COUNTERS = [
  'host_rx_packets', // read from the TUN (molt0)
  'host_rx_bytes',
  'host_tx_packets', // written to the TUN
  'host_tx_bytes',
  'host_tx_errors', // TUN write failed (EIO while molt0 is down, ENOBUFS)
  'host_rx_errors', // TUN read failed (-errno) or poll(2) reported POLLERR/POLLHUP/POLLNVAL on it
  'forwarded_packets', // transit packets sent on
  'punted_packets', // the forwarder's punt verdicts; the ones the punt queue refused are also in drop_punt_overflow
  'icmp_errors_sent',
  'icmp_errors_ratelimited',
  'underlay_rx_packets',
  'underlay_rx_bytes',
  'underlay_tx_packets',
  'underlay_tx_bytes',
  'underlay_tx_errors', // sendmmsg refused a packet
  'underlay_rx_errors', // a port's read failed (-errno) or poll(2) reported POLLERR/POLLHUP/POLLNVAL on it
  'rx_backoffs', // times a failing fd (host TUN or port) was taken out of the read and poll sets for a while
  'drop_malformed', // not a valid IPv6 packet (version, lengths)
  'drop_no_route',
  'drop_hop_limit',
  'drop_too_big',
  'drop_link_local', // link-local destination that is not ours: never forwarded
  'drop_host_multicast', // multicast from the host (MLD, RS) has nowhere to go
  'drop_unknown_peer', // underlay packet from an address that is no configured peer
  'drop_unauthenticated', // underlay packet from a configured peer that has not (or no longer) proved who it is
  'drop_bad_encap', // VXLAN/GRE header that does not parse, wrong VNI or key
  'drop_wrong_mac', // VXLAN inner frame not addressed to us
  'drop_not_ipv6', // VXLAN inner EtherType other than IPv6
  'drop_nd_unresolved', // no MAC for the peer yet
  'drop_nd_policed', // a Neighbor Solicitation not answered: the link's reply budget was spent (a peer flooding NS)
  'drop_punt_overflow', // punted packet not handed up: the step's punt queue was full, or its kind's policer said no
  'punt_policed_bfd', // of drop_punt_overflow: refused by a policer, by kind (not separate drops)
  'punt_policed_ospf',
  'punt_policed_icmpv6',
  'punt_policed_other',
  'drop_link_down', // routed or sent to a link id that has no link (removed, never added) or whose port is gone
  'drop_control_tx', // a control-plane packet that could not be sent (larger than a slab slot)
  'internal_errors', // an exception in the forwarding loop (a bug): counted, the loop goes on
  'bfd_stand_in_tx', // BFD packets the forwarding thread sent for a main thread that missed its interval (bfd-stand-in.ts)
  // Offloads (not drops, except drop_bad_offload): host_rx_packets counts segments, host_tx_packets packets given.
  'tun_superpackets', // TSO/USO superpackets read from molt0 (its segments are in host_rx_packets)
  'tun_segments', // segments made of them
  'drop_bad_offload', // a packet read from molt0 whose virtio header or headers the split refused
  'host_tx_superpackets', // superpackets written to molt0 (coalesced TCP segments)
  'host_tx_coalesced', // segments merged into an earlier one for them
  'gso_messages', // UDP_SEGMENT messages sent on underlay sockets
  'gso_segments', // datagrams in them
  'gso_refused', // UDP_SEGMENT messages the kernel refused (sent one by one instead)
  'gro_messages', // coalesced (UDP_GRO) messages received on underlay sockets
  'gro_segments', // datagrams in them
] as const;
export type NodeCounter = (typeof NODE_COUNTERS)[number];
export const C = Object.fromEntries(NODE_COUNTERS.map((n, i) => [n, i])) as { readonly [K in NodeCounter]: number };

/** Per-link counters, in a block of LINK_COUNTERS.length slots per link id. */
export const LINK_COUNTERS = ['rx_packets', 'rx_bytes', 'tx_packets', 'tx_bytes', 'rx_drops', 'tx_drops'] as const;
export type LinkCounter = (typeof LINK_COUNTERS)[number];
export const L = Object.fromEntries(LINK_COUNTERS.map((n, i) => [n, i])) as { readonly [K in LinkCounter]: number };
export const LINK_COUNTER_STRIDE = LINK_COUNTERS.length;
export { MAX_LINK_ID };
/** Link ids are 0..MAX_LINK_ID (the FIB's next-hop range); every id has a counter block (65535 x 6 x 8 = 3 MiB). */
export const MAX_LINKS = MAX_LINK_ID + 1;

export interface CounterSet {
  node: Float64Array;
  link: Float64Array;
}

export function createCounters(shared = false): CounterSet {
  const nodeBytes = NODE_COUNTERS.length * 8;
  const linkBytes = MAX_LINKS * LINK_COUNTER_STRIDE * 8;
  const Ctor = shared ? SharedArrayBuffer : ArrayBuffer;
  return { node: new Float64Array(new Ctor(nodeBytes)), link: new Float64Array(new Ctor(linkBytes)) };
}

/** Wrap counter buffers received from another thread. */
export function countersFrom(node: ArrayBufferLike, link: ArrayBufferLike): CounterSet {
  return { node: new Float64Array(node), link: new Float64Array(link) };
}

/** A plane's counters: one set, or one per forwarding worker (each counts what it forwarded), summed here. */
export type Counters = CounterSet | readonly CounterSet[];

function sets(c: Counters): readonly CounterSet[] {
  return Array.isArray(c) ? c : [c as CounterSet];
}

/** Node counter `index` summed over the sets. */
export function nodeCounter(c: Counters, index: number): number {
  let sum = 0;
  for (const s of sets(c)) sum += s.node[index]!;
  return sum;
}

export function nodeCountersObject(c: Counters): Record<NodeCounter, number> {
  const out = {} as Record<NodeCounter, number>;
  NODE_COUNTERS.forEach((n, i) => (out[n] = nodeCounter(c, i)));
  return out;
}

export function linkCountersObject(c: Counters, id: number): Record<LinkCounter, number> {
  const out = {} as Record<LinkCounter, number>;
  const base = id * LINK_COUNTER_STRIDE;
  const all = sets(c);
  LINK_COUNTERS.forEach((n, i) => {
    let sum = 0;
    for (const s of all) sum += s.link[base + i]!;
    out[n] = sum;
  });
  return out;
}

/** Zero link `id`'s block: a link id that is (re)added starts counting from nothing. */
export function zeroLinkCounters(c: CounterSet, id: number): void {
  const base = id * LINK_COUNTER_STRIDE;
  c.link.fill(0, base, base + LINK_COUNTER_STRIDE);
}
