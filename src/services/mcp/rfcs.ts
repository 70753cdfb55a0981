/** The MoltNet spec's Appendix A, with what this node implements of each (the rfc_lookup tool's table). */
export interface RfcEntry {
  rfc: number;
  title: string;
  relevance: string;
  implemented: string;
}

export const RFCS: readonly RfcEntry[] = [
  { rfc: 4193, title: 'Unique Local IPv6 Unicast Addresses', relevance: 'fd00::/8 prefix', implemented: 'Mesh addresses are in fd00:6d6f:6c74::/48, derived from the agent UUID (see the README for the 128-bit fix).' },
  { rfc: 4291, title: 'IPv6 Addressing Architecture', relevance: 'Address format', implemented: 'Addresses are parsed and printed per RFC 4291/5952; the 9-group legacy form of the spec is accepted on input.' },
  { rfc: 4861, title: 'Neighbor Discovery for IPv6', relevance: 'Peer discovery', implemented: 'VXLAN links answer and send Neighbor Solicitations/Advertisements for the peer\'s MAC (replies policed per link).' },
  { rfc: 4862, title: 'IPv6 SLAAC', relevance: 'Auto-configuration', implemented: 'Not used: each node configures its /128 from its UUID; link-local addresses derive from it too.' },
  { rfc: 5340, title: 'OSPF for IPv6', relevance: 'Mesh routing', implemented: 'OSPFv3 on every link (point-to-point, area 0), SPF with ECMP, interoperable with BIRD 2 and FRR.' },
  { rfc: 4271, title: 'BGP-4', relevance: 'Policy routing', implemented: 'Not in MoltNet: routing inside the mesh is OSPFv3; BGP would come from a kernel router (BIRD, FRR) on a kernel link.' },
  { rfc: 5880, title: 'Bidirectional Forwarding Detection (BFD)', relevance: 'Fast failure detection', implemented: 'Asynchronous mode, 100 ms x 3 by default, simple/keyed SHA1/meticulous keyed SHA1 authentication.' },
  { rfc: 5881, title: 'BFD for IPv4 and IPv6 (Single Hop)', relevance: 'BFD encapsulation', implemented: 'UDP 3784 with GTSM (hop limit 255) on every link; multihop (RFC 5883, UDP 4784) for configured peers.' },
  { rfc: 2784, title: 'Generic Routing Encapsulation (GRE)', relevance: 'Tunnel encapsulation', implemented: 'GRE-in-UDP (RFC 8086, UDP 4754) with a key derived from both UUIDs.' },
  { rfc: 7348, title: 'Virtual eXtensible Local Area Network (VXLAN)', relevance: 'Alternative encapsulation', implemented: 'The default link (UDP 4789); a Linux vxlan device is a working peer.' },
];
