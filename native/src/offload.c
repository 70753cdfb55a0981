/*
 * TUN offloads, the per-byte half: the Internet checksum, segmentation of the superpackets a TUN opened with
 * IFF_VNET_HDR + TUNSETOFFLOAD hands us (what the kernel's tcp_gso_segment / __udp_gso_segment would have
 * done), and coalescing of received TCP segments into one superpacket for a TUN write (what tcp_gro_receive
 * does). Plain C, no N-API and no state, like the rest of the syscall layer; the glue is offload_napi.c.
 *
 * Every packet is untrusted: a function that reads one returns a negative MN_OFF_E* code (segmentation) or
 * counts it and passes it on unchanged (coalescing) rather than reading outside it. Buffer bounds the caller
 * chose (slab sizes, counts) are checked by the glue before we get here.
 *
 * The virtio-net header (virtio 1.x §5.1.6, legacy layout without num_buffers), 10 bytes in front of every
 * packet read from or written to such a TUN:
 *
 *    0        1          2                 4                 6                 8                10
 *   +--------+----------+-----------------+-----------------+-----------------+-----------------+
 *   | flags  | gso_type |     hdr_len     |    gso_size     |   csum_start    |   csum_offset   |
 *   +--------+----------+-----------------+-----------------+-----------------+-----------------+
 *
 *   flags     NEEDS_CSUM (1): the L4 checksum is partial: the field at csum_start + csum_offset holds the
 *             folded pseudo-header sum, the sum over [csum_start, end) is still to be added.
 *   gso_type  NONE 0, TCPV4 1, TCPV6 4, UDP_L4 5 (USO); | ECN 0x80 when the TCP flow uses ECN (CWR).
 *   hdr_len   header bytes (IP + L4) of each segment. Not trusted on read: on a forwarded skb the kernel
 *             reports its linear length, which can be the whole first packet (wireguard-go found this);
 *             we derive it from csum_start and the L4 header instead.
 *   gso_size  payload bytes per segment (the MSS); the last one may be shorter.
 *
 * The 16-bit fields are in the host's byte order: a TUN without TUNSETVNETLE/TUNSETVNETBE speaks legacy virtio,
 * which is native-endian.
 */
#include "moltnet.h"

#include <string.h>

/* --- the Internet checksum (RFC 1071) -------------------------------------------------------------------- */

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define MN_LITTLE 0
#else
#define MN_LITTLE 1
#endif

/* The one's-complement sum is independent of byte order up to one final swap (RFC 1071 §2.B), so we add
 * native 32-bit words into a 64-bit accumulator (no carry handling inside the loop: 2^32 words fit) and swap
 * the folded result on little-endian hosts. memcpy loads: any alignment, and compilers vectorize them. */
static uint64_t sum_native(const uint8_t *p, size_t len) {
  uint64_t s0 = 0, s1 = 0;
  while (len >= 32) {
    uint32_t w[8];
    memcpy(w, p, 32);
    s0 += (uint64_t)w[0] + w[1] + w[2] + w[3];
    s1 += (uint64_t)w[4] + w[5] + w[6] + w[7];
    p += 32;
    len -= 32;
  }
  while (len >= 4) {
    uint32_t w;
    memcpy(&w, p, 4);
    s0 += w;
    p += 4;
    len -= 4;
  }
  if (len >= 2) {
    uint16_t h;
    memcpy(&h, p, 2);
    s1 += h;
    p += 2;
    len -= 2;
  }
  /* An odd last byte is the high half of a network-order word: the low half of a native one on LE. */
  if (len) s1 += MN_LITTLE ? (uint64_t)p[0] : (uint64_t)p[0] << 8;
  return s0 + s1;
}

/* sum_native over the `len` bytes it copies from p to d: one pass instead of a copy and then a sum, for the
 * payload of every segment made or merged (the data is read once, while it is in flight through the cache). */
static uint64_t copy_sum_native(uint8_t *d, const uint8_t *p, size_t len) {
  uint64_t s0 = 0, s1 = 0;
  while (len >= 32) {
    uint32_t w[8];
    memcpy(w, p, 32);
    memcpy(d, w, 32);
    s0 += (uint64_t)w[0] + w[1] + w[2] + w[3];
    s1 += (uint64_t)w[4] + w[5] + w[6] + w[7];
    p += 32;
    d += 32;
    len -= 32;
  }
  /* The last 0..31 bytes: still at an even offset, so their sum adds on. */
  memcpy(d, p, len);
  return s0 + s1 + sum_native(p, len);
}

static uint32_t fold64(uint64_t s) {
  s = (s & 0xffffffffu) + (s >> 32);
  s = (s & 0xffffffffu) + (s >> 32);
  uint32_t t = (uint32_t)s;
  t = (t & 0xffff) + (t >> 16);
  t = (t & 0xffff) + (t >> 16);
  return t;
}

/* A native sum (of bytes that started at an even offset) as a folded network-order sum, plus `initial`. */
static uint32_t from_native(uint64_t native, uint32_t initial) {
  uint32_t s = fold64(native);
  if (MN_LITTLE) s = ((s & 0xff) << 8) | (s >> 8);
  return fold64((uint64_t)s + initial);
}

uint32_t mn_csum_sum(const uint8_t *p, size_t len, uint32_t initial) {
  return from_native(sum_native(p, len), initial);
}

uint16_t mn_checksum(const uint8_t *p, size_t len, uint32_t initial) {
  return (uint16_t)~mn_csum_sum(p, len, initial);
}

/* --- byte access ----------------------------------------------------------------------------------------- */

static inline uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t rd32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void wr16(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}
static inline void wr32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}
static inline uint16_t rdh16(const uint8_t *p) { /* host order: the virtio header */
  uint16_t v;
  memcpy(&v, p, 2);
  return v;
}
static inline void wrh16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }

/* --- layouts --------------------------------------------------------------------------------------------- */

/* virtio_net_hdr, offsets from the diagram at the top. */
enum { VH_FLAGS = 0, VH_GSO_TYPE = 1, VH_HDR_LEN = 2, VH_GSO_SIZE = 4, VH_CSUM_START = 6, VH_CSUM_OFFSET = 8 };

/*
 * IPv6 (RFC 8200 §3)                                  IPv4 (RFC 791 §3.1)
 *  0       4       12                       31          0    4    8              16    19              31
 * +-------+-------+--------------------------+         +----+----+--------------+-----------------------+
 * |Version| Traffic Class |    Flow Label    |         |Ver |IHL | TOS          |     Total Length      |
 * +-------+-------+--------+-------+---------+         +----+----+--------------+-----+-----------------+
 * |  Payload Length (4)    | Next(6)| Hop(7) |         |   Identification (4)   |Flags|  Frag Offset    |
 * +------------------------+--------+--------+         +-------------+----------+-----+-----------------+
 * |          Source Address (8, 16 bytes)    |         |  TTL (8)    | Proto (9)|   Header Checksum(10) |
 * |       Destination Address (24, 16 bytes) |         |           Source (12) / Destination (16)       |
 * +------------------------------------------+         +------------------------------------------------+
 */
enum { IP6_PLEN = 4, IP6_NEXT = 6, IP6_HOP = 7, IP6_SRC = 8, IP6_HDR = 40 };
enum { IP4_TOTLEN = 2, IP4_ID = 4, IP4_FRAG = 6, IP4_PROTO = 9, IP4_CSUM = 10, IP4_SRC = 12 };

/*
 * TCP (RFC 9293 §3.1)                                 UDP (RFC 768)
 *  0                   16                  31          0                   16                  31
 * +---------------------+---------------------+         +---------------------+---------------------+
 * |    Source Port      |   Destination Port  |         |    Source Port      |   Destination Port  |
 * +---------------------+---------------------+         +---------------------+---------------------+
 * |          Sequence Number (4)              |         |     Length (4)      |    Checksum (6)     |
 * |       Acknowledgment Number (8)           |         +---------------------+---------------------+
 * +----+----+----------+---------------------+
 * |Off.|Rsvd| Flags(13)|     Window (14)      |          Flags: CWR 0x80 ECE 0x40 URG 0x20 ACK 0x10
 * +----+----+----------+---------------------+                 PSH 0x08 RST 0x04 SYN 0x02 FIN 0x01
 * |   Checksum (16)    | Urgent Pointer (18) |
 * +---------------------+---------------------+
 * |  Options (20, up to 40 bytes)            |
 */
enum { TCP_SEQ = 4, TCP_ACK = 8, TCP_OFF = 12, TCP_FLAGS = 13, TCP_CSUM = 16, TCP_MIN = 20, TCP_MAX = 60 };
enum { UDP_LEN = 4, UDP_CSUM = 6, UDP_HDR = 8 };
enum { F_FIN = 0x01, F_SYN = 0x02, F_RST = 0x04, F_PSH = 0x08, F_ACK = 0x10, F_URG = 0x20, F_CWR = 0x80 };

/* Pseudo-header sums (RFC 8200 §8.1, RFC 9293 §3.1), folded, network order. */
static uint32_t pseudo6(const uint8_t *ip, uint8_t proto, uint32_t l4len) {
  return mn_csum_sum(ip + IP6_SRC, 32, (l4len >> 16) + (l4len & 0xffff) + proto);
}
static uint32_t pseudo4(const uint8_t *ip, uint8_t proto, uint32_t l4len) {
  return mn_csum_sum(ip + IP4_SRC, 8, l4len + proto);
}

/* --- segmentation ---------------------------------------------------------------------------------------- */

/* Finish a NEEDS_CSUM packet as the kernel's skb_checksum_help does: the field holds the pseudo-header sum,
 * so summing [start, end) over it gives the whole sum. A result of 0 goes out as 0xffff (equal in one's
 * complement; for UDP, 0 would mean "no checksum", which IPv6 forbids). */
static void complete_csum(uint8_t *pkt, size_t len, size_t start, size_t field) {
  uint16_t c = mn_checksum(pkt + start, len - start, 0);
  wr16(pkt + field, c ? c : 0xffff);
}

int mn_gso_split_range(const uint8_t *in, size_t in_len, uint8_t *out, size_t stride, size_t cap, int first,
                       int max, int32_t *sizes, int *total) {
  if (in_len < MN_VNET_HDR_LEN) return MN_OFF_ETRUNC;
  const uint8_t flags = in[VH_FLAGS], gso = in[VH_GSO_TYPE] & (uint8_t)~MN_GSO_ECN;
  const size_t mss = rdh16(in + VH_GSO_SIZE), cstart = rdh16(in + VH_CSUM_START), coff = rdh16(in + VH_CSUM_OFFSET);
  const uint8_t *pkt = in + MN_VNET_HDR_LEN;
  const size_t len = in_len - MN_VNET_HDR_LEN;
  if (len == 0) return MN_OFF_ETRUNC;
  if (max < 0 || first < 0) return MN_OFF_ENOSPACE;

  if (gso == MN_GSO_NONE) {
    /* One packet; only its checksum may be unfinished. */
    if ((flags & MN_VNET_NEEDS_CSUM) && cstart + coff + 2 > len) return MN_OFF_ECSUM;
    if (len > cap) return MN_OFF_ENOSPACE;
    *total = 1;
    if (first >= 1 || max == 0) return 0;
    memcpy(out, pkt, len);
    if (flags & MN_VNET_NEEDS_CSUM) complete_csum(out, len, cstart, cstart + coff);
    sizes[0] = (int32_t)len;
    return 1;
  }
  if (gso != MN_GSO_TCPV4 && gso != MN_GSO_TCPV6 && gso != MN_GSO_UDP_L4) return MN_OFF_EGSOTYPE;
  /* The kernel marks every GSO packet NEEDS_CSUM: the per-segment checksums are ours to make. */
  if (!(flags & MN_VNET_NEEDS_CSUM)) return MN_OFF_ECSUM;
  if (mss == 0) return MN_OFF_EGSOSIZE;

  const int v6 = pkt[0] >> 4 == 6;
  size_t iphl;
  uint8_t proto;
  if (v6) {
    if (gso == MN_GSO_TCPV4) return MN_OFF_EGSOTYPE;
    if (len < IP6_HDR) return MN_OFF_ETRUNC;
    if (rd16(pkt + IP6_PLEN) + (size_t)IP6_HDR != len) return MN_OFF_EHDR;
    iphl = IP6_HDR;
    proto = pkt[IP6_NEXT];
  } else if (pkt[0] >> 4 == 4) {
    if (gso == MN_GSO_TCPV6) return MN_OFF_EGSOTYPE;
    if (len < 20) return MN_OFF_ETRUNC;
    iphl = (size_t)(pkt[0] & 15) * 4;
    if (iphl < 20) return MN_OFF_EHDR;
    if (len < iphl) return MN_OFF_ETRUNC;
    if (rd16(pkt + IP4_TOTLEN) != len || (rd16(pkt + IP4_FRAG) & 0x3fff)) return MN_OFF_EHDR; /* or a fragment */
    proto = pkt[IP4_PROTO];
  } else {
    return MN_OFF_EHDR;
  }
  const int tcp = gso != MN_GSO_UDP_L4;
  /* IPv6 extension headers would put another Next Header here: not something a TUN's own sockets send. */
  if (proto != (tcp ? 6 : 17)) return MN_OFF_EPROTO;
  if (cstart != iphl || coff != (size_t)(tcp ? TCP_CSUM : UDP_CSUM)) return MN_OFF_ECSUM;

  size_t l4hl = UDP_HDR;
  if (tcp) {
    if (len < iphl + TCP_MIN) return MN_OFF_ETRUNC;
    l4hl = (size_t)(pkt[iphl + TCP_OFF] >> 4) * 4;
    if (l4hl < TCP_MIN) return MN_OFF_EHDR;
  }
  if (len < iphl + l4hl) return MN_OFF_ETRUNC;
  const size_t hdr = iphl + l4hl, payload = len - hdr;
  const size_t nseg = payload == 0 ? 1 : (payload + mss - 1) / mss;
  if (hdr + (payload < mss ? payload : mss) > cap) return MN_OFF_ENOSPACE;
  *total = (int)nseg;
  /* Segments first .. first+max-1 (of nseg): a caller short of slots takes the rest in a later call. */
  const size_t end = (size_t)first + (size_t)max < nseg ? (size_t)first + (size_t)max : nseg;

  const uint32_t seq0 = tcp ? rd32(pkt + iphl + TCP_SEQ) : 0;
  const uint16_t id0 = v6 ? 0 : rd16(pkt + IP4_ID);
  for (size_t i = (size_t)first; i < end; i++) {
    const size_t at = hdr + i * mss, n = payload - i * mss < mss ? payload - i * mss : mss;
    const size_t seglen = hdr + n, l4len = seglen - iphl;
    uint8_t *o = out + (i - (size_t)first) * stride, *l4 = o + iphl;
    memcpy(o, pkt, hdr);
    /* l4hl is even, so the payload's native sum adds to the L4 header's as it is. */
    const uint64_t payload_sum = copy_sum_native(o + hdr, pkt + at, n);
    if (v6) {
      wr16(o + IP6_PLEN, (uint32_t)(seglen - IP6_HDR));
    } else {
      /* Linux numbers the segments' IDs on from the superpacket's (inet_gso_segment without FIXEDID). */
      wr16(o + IP4_TOTLEN, (uint32_t)seglen);
      wr16(o + IP4_ID, (uint16_t)(id0 + i));
      wr16(o + IP4_CSUM, 0);
      wr16(o + IP4_CSUM, mn_checksum(o, iphl, 0));
    }
    uint32_t sum;
    size_t field;
    if (tcp) {
      wr32(l4 + TCP_SEQ, seq0 + (uint32_t)(i * mss));
      /* As tcp_gso_segment: FIN and PSH belong to the last segment, CWR to the first. */
      if (i + 1 < nseg) l4[TCP_FLAGS] &= (uint8_t)~(F_FIN | F_PSH);
      if (i > 0) l4[TCP_FLAGS] &= (uint8_t)~F_CWR;
      field = TCP_CSUM;
      sum = v6 ? pseudo6(o, 6, (uint32_t)l4len) : pseudo4(o, 6, (uint32_t)l4len);
    } else {
      wr16(l4 + UDP_LEN, (uint32_t)l4len);
      field = UDP_CSUM;
      sum = v6 ? pseudo6(o, 17, (uint32_t)l4len) : pseudo4(o, 17, (uint32_t)l4len);
    }
    wr16(l4 + field, 0);
    uint16_t c = (uint16_t)~from_native(sum_native(l4, l4hl) + payload_sum, sum);
    wr16(l4 + field, c || tcp ? c : 0xffff);
    sizes[i - (size_t)first] = (int32_t)seglen;
  }
  return (size_t)first >= nseg ? 0 : (int)(end - (size_t)first);
}

int mn_gso_split(const uint8_t *in, size_t in_len, uint8_t *out, size_t stride, int max, int32_t *sizes) {
  /* All segments or none: first a dry run (max 0) that checks the packet and counts its segments. */
  if (max < 1) return MN_OFF_ENOSPACE;
  int total = 0;
  const int r = mn_gso_split_range(in, in_len, out, stride, stride, 0, 0, sizes, &total);
  if (r < 0) return r;
  if (total > max) return MN_OFF_ENOSPACE;
  return mn_gso_split_range(in, in_len, out, stride, stride, 0, max, sizes, &total);
}

/* --- coalescing ------------------------------------------------------------------------------------------ */

/*
 * The rules are tcp_gro_receive's (net/ipv4/tcp_offload.c) and ipv6_gro_receive's, so the kernel sees what its
 * own GRO would have given it:
 *   - same flow: IPv6 source and destination, TCP ports; Next Header TCP directly (no extension headers);
 *   - same first word (version, traffic class with ECN, flow label) and hop limit;
 *   - the segment's sequence number is where the superpacket's payload ends (no gaps, no reordering);
 *   - same ACK number, data offset, window and options (byte for byte, timestamps included);
 *   - flags: ACK, never SYN/FIN/RST/URG; CWR only on the first segment; PSH closes the superpacket;
 *   - every segment but the last carries exactly gso_size bytes (the first segment's); a shorter one is last;
 *   - the IPv6 packet stays within 65535 bytes;
 *   - the segment's checksum is right: the superpacket goes up as CHECKSUM_PARTIAL, which the kernel trusts,
 *     so a corrupted segment merged in would never be caught. It passes on unchanged and the kernel drops it.
 * A segment of a flow only ever joins that flow's most recent packet in the batch, so no flow is reordered;
 * across flows, a superpacket stands where its first segment stood.
 */

#define GRO_FLOWS 512 /* open-addressed table, twice the window */

typedef struct {
  int32_t head, last; /* input indexes; segments chain through next[] */
  uint32_t next_seq;  /* sequence number the next segment must have */
  uint32_t bytes;     /* payload bytes so far */
  uint16_t gso;       /* the first segment's payload length */
  uint16_t segs;
  uint8_t hl;         /* IPv6 + TCP header bytes */
  uint8_t open;       /* may take another segment */
  uint8_t psh;        /* the last segment had PSH */
} gro_item;

typedef struct {
  int32_t key_pkt; /* an input index whose addresses and ports are the flow's, -1 if free */
  int32_t latest;  /* item holding the flow's most recent packet */
} gro_flow;

static uint32_t flow_hash(const uint8_t *ip) {
  /* FNV-1a over addresses and ports: cheap, and the table is rebuilt for every batch. */
  uint32_t h = 2166136261u;
  for (int i = IP6_SRC; i < IP6_HDR + 4; i++) h = (h ^ ip[i]) * 16777619u;
  return h;
}

static int same_flow(const uint8_t *a, const uint8_t *b) {
  return memcmp(a + IP6_SRC, b + IP6_SRC, 32) == 0 && memcmp(a + IP6_HDR, b + IP6_HDR, 4) == 0;
}

/* Can segment p (payload `pl`, flags already checked) extend item it, whose first packet is h? */
static int can_append(const gro_item *it, const uint8_t *h, const uint8_t *p, size_t pl) {
  const uint8_t *th = h + IP6_HDR, *tp = p + IP6_HDR;
  if (!it->open) return 0;
  if (memcmp(h, p, 4) != 0 || h[IP6_HOP] != p[IP6_HOP]) return 0;
  if (rd32(tp + TCP_SEQ) != it->next_seq || memcmp(th + TCP_ACK, tp + TCP_ACK, 4) != 0) return 0;
  if (th[TCP_OFF] != tp[TCP_OFF] || memcmp(th + 14, tp + 14, 2) != 0) return 0; /* data offset, window */
  if ((tp[TCP_FLAGS] & F_CWR) || (th[TCP_FLAGS] & ~(F_PSH | F_CWR)) != (tp[TCP_FLAGS] & ~F_PSH)) return 0;
  if (memcmp(th + TCP_MIN, tp + TCP_MIN, (size_t)it->hl - IP6_HDR - TCP_MIN) != 0) return 0; /* options */
  if (pl > it->gso || (size_t)it->hl + it->bytes + pl > 65535) return 0;
  return 1;
}

/* Packet `len` bytes at p, unchanged behind a zero virtio-net header (GSO_NONE, no flags: its checksum is
 * complete, or the kernel finds it is not) at dst + at; records it as output `out`. Returns the bytes used. */
static size_t put_unchanged(uint8_t *dst, size_t at, const uint8_t *p, size_t len, int32_t *out_offsets,
                            int32_t *out_lengths, int out) {
  memset(dst + at, 0, MN_VNET_HDR_LEN);
  memcpy(dst + at + MN_VNET_HDR_LEN, p, len);
  out_offsets[out] = (int32_t)at;
  out_lengths[out] = (int32_t)(MN_VNET_HDR_LEN + len);
  return MN_VNET_HDR_LEN + len;
}

int mn_gro_coalesce(const uint8_t *src, const int32_t *offsets, const int32_t *lengths, int count, uint8_t *dst,
                    size_t dst_base, int32_t *out_offsets, int32_t *out_lengths, int32_t *stats) {
  gro_item items[MN_GRO_WINDOW];
  int32_t next[MN_GRO_WINDOW];
  gro_flow flows[GRO_FLOWS];
  int32_t st[MN_GRO_STATS] = {0};
  size_t pos = 0;
  int out = 0;

  for (int base = 0; base < count; base += MN_GRO_WINDOW) {
    const int n = count - base < MN_GRO_WINDOW ? count - base : MN_GRO_WINDOW;
    int nitems = 0;
    for (int f = 0; f < GRO_FLOWS; f++) flows[f].key_pkt = -1;

    /* Pass 1: classify each packet and attach it to an item. */
    for (int i = 0; i < n; i++) {
      const uint8_t *p = src + offsets[base + i];
      const size_t len = (size_t)lengths[base + i];
      gro_item *it = &items[nitems];
      next[i] = -1;
      it->head = it->last = i;
      it->segs = 1;
      it->open = 0;
      it->psh = 0;
      it->hl = 0;
      st[MN_GRO_IN]++;

      if (len < IP6_HDR || p[0] >> 4 != 6 || p[IP6_NEXT] != 6) {
        st[MN_GRO_OTHER]++; /* not IPv6 + TCP: not ours to merge */
        nitems++;
        continue;
      }
      size_t thl = len >= IP6_HDR + TCP_MIN ? (size_t)(p[IP6_HDR + TCP_OFF] >> 4) * 4 : 0;
      if (rd16(p + IP6_PLEN) + (size_t)IP6_HDR != len || thl < TCP_MIN || IP6_HDR + thl > len) {
        st[MN_GRO_MALFORMED]++;
        nitems++;
        continue;
      }

      /* The flow's slot: every TCP packet claims it, mergeable or not, so that a later segment cannot join
       * a superpacket from before this packet and overtake it. */
      uint32_t h = flow_hash(p) & (GRO_FLOWS - 1);
      while (flows[h].key_pkt >= 0 && !same_flow(src + offsets[base + flows[h].key_pkt], p)) h = (h + 1) & (GRO_FLOWS - 1);
      gro_flow *fl = &flows[h];
      const int32_t prev = fl->key_pkt >= 0 ? fl->latest : -1;
      fl->key_pkt = i;
      fl->latest = nitems;

      const uint8_t fl_bits = p[IP6_HDR + TCP_FLAGS];
      const size_t pl = len - IP6_HDR - thl;
      if (pl == 0 || !(fl_bits & F_ACK) || (fl_bits & (F_SYN | F_FIN | F_RST | F_URG))) {
        st[MN_GRO_PASSED]++;
        nitems++;
        continue;
      }
      if (prev >= 0 && can_append(&items[prev], src + offsets[base + items[prev].head], p, pl)) {
        gro_item *pi = &items[prev];
        next[pi->last] = i;
        pi->last = i;
        pi->segs++;
        pi->bytes += (uint32_t)pl;
        pi->next_seq += (uint32_t)pl;
        pi->psh = (fl_bits & F_PSH) != 0;
        if (pi->psh || pl < pi->gso) pi->open = 0;
        fl->latest = prev;
        continue;
      }
      it->hl = (uint8_t)(IP6_HDR + thl);
      it->gso = (uint16_t)pl;
      it->bytes = (uint32_t)pl;
      it->next_seq = rd32(p + IP6_HDR + TCP_SEQ) + (uint32_t)pl;
      it->open = !(fl_bits & F_PSH);
      nitems++;
    }

    /* Pass 2: write the items out in order, each behind its virtio-net header. A chain's segments are
     * verified as they are copied (one pass over each payload); a segment whose checksum is wrong ends the
     * superpacket before it, goes out alone and unchanged, and the rest of the chain starts another. */
    for (int k = 0; k < nitems; k++) {
      const gro_item *it = &items[k];
      if (it->segs == 1) {
        pos += put_unchanged(dst, dst_base + pos, src + offsets[base + it->head], (size_t)lengths[base + it->head],
                             out_offsets, out_lengths, out++);
        continue;
      }
      const size_t hl = it->hl;
      int32_t j = it->head;
      while (j >= 0) {
        /* A run from segment j: its header once, then each payload, summed while copied. */
        const uint8_t *h = src + offsets[base + j];
        const size_t hlen = (size_t)lengths[base + j];
        uint8_t *o = dst + dst_base + pos;
        uint8_t *ip = o + MN_VNET_HDR_LEN;
        memset(o, 0, MN_VNET_HDR_LEN);
        memcpy(ip, h, hl);
        uint64_t ps = copy_sum_native(ip + hl, h + hl, hlen - hl);
        int32_t bad = -1, at = next[j];
        size_t total = hlen;
        int segs = 1;
        uint8_t psh = 0;
        if (from_native(sum_native(h + IP6_HDR, hl - IP6_HDR) + ps, pseudo6(h, 6, (uint32_t)(hlen - IP6_HDR))) != 0xffff) {
          bad = j; /* the run's first segment itself: it goes out alone (rewritten below; a rare path) */
        } else {
          for (; at >= 0; at = next[at]) {
            const uint8_t *p = src + offsets[base + at];
            const size_t len = (size_t)lengths[base + at];
            ps = copy_sum_native(ip + total, p + hl, len - hl);
            if (from_native(sum_native(p + IP6_HDR, hl - IP6_HDR) + ps, pseudo6(p, 6, (uint32_t)(len - IP6_HDR))) != 0xffff) {
              bad = at;
              at = next[at];
              break;
            }
            total += len - hl;
            segs++;
            psh = (p[IP6_HDR + TCP_FLAGS] & F_PSH) != 0;
          }
        }
        if (bad != j) {
          if (segs > 1) {
            uint8_t *th = ip + IP6_HDR;
            wr16(ip + IP6_PLEN, (uint32_t)(total - IP6_HDR));
            if (psh) th[TCP_FLAGS] |= F_PSH;
            /* CHECKSUM_PARTIAL as __tcp_v6_send_check leaves it: the folded pseudo-header sum over the whole
             * TCP length, not complemented; the kernel adds the rest per segment (or trusts it, delivered up). */
            wr16(th + TCP_CSUM, pseudo6(ip, 6, (uint32_t)(total - IP6_HDR)));
            o[VH_FLAGS] = MN_VNET_NEEDS_CSUM;
            /* tcp_gro_complete marks a superpacket whose first segment has CWR as ECN. */
            o[VH_GSO_TYPE] = (uint8_t)(MN_GSO_TCPV6 | ((th[TCP_FLAGS] & F_CWR) ? MN_GSO_ECN : 0));
            wrh16(o + VH_HDR_LEN, (uint16_t)hl);
            wrh16(o + VH_GSO_SIZE, (uint16_t)(hlen - hl));
            wrh16(o + VH_CSUM_START, IP6_HDR);
            wrh16(o + VH_CSUM_OFFSET, TCP_CSUM);
            st[MN_GRO_SUPER]++;
            st[MN_GRO_MERGED] += segs - 1;
          }
          out_offsets[out] = (int32_t)(dst_base + pos);
          out_lengths[out] = (int32_t)(MN_VNET_HDR_LEN + total);
          pos += MN_VNET_HDR_LEN + total;
          out++;
        }
        if (bad >= 0) {
          /* Passed on unchanged: the kernel checks it again and drops it. */
          pos += put_unchanged(dst, dst_base + pos, src + offsets[base + bad], (size_t)lengths[base + bad],
                               out_offsets, out_lengths, out++);
          st[MN_GRO_BAD_CSUM]++;
        }
        j = at;
      }
    }
  }
  st[MN_GRO_OUT] = out;
  if (stats) for (int s = 0; s < MN_GRO_STATS; s++) stats[s] += st[s];
  return out;
}
