/**
 * Faults for a live mesh (the chaos test and the soak bench): an nftables cut of one edge's underlay on
 * both ends, and its mend. The cut drops everything to and from the far end's underlay address, so the
 * link's BFD, OSPF and data all stop, as when a cable is pulled.
 */
import type { Chain } from '../../src/demo/chain.js';
import { inNs } from './integration.js';

function nftCut(chain: Chain, i: number, addr: string, table: string): Promise<unknown> {
  return inNs(chain.nodes[i]!.ns, 'nft', [`add table inet ${table}; add chain inet ${table} in { type filter hook input priority 0; }; add chain inet ${table} out { type filter hook output priority 0; }; add rule inet ${table} in ip6 saddr ${addr} drop; add rule inet ${table} out ip6 daddr ${addr} drop`], 5000);
}

/** Cut (on) or mend (off) edge `h` of the chain: one nftables table per node end, named per edge. */
export async function cutEdge(chain: Chain, h: number, on: boolean): Promise<void> {
  const e = chain.edges[h]!;
  const table = `cut${h}`;
  if (on) await Promise.all([nftCut(chain, e.a, e.addrB, table), nftCut(chain, e.b, e.addrA, table)]);
  else await Promise.all([inNs(chain.nodes[e.a]!.ns, 'nft', [`delete table inet ${table}`], 5000), inNs(chain.nodes[e.b]!.ns, 'nft', [`delete table inet ${table}`], 5000)]);
}
