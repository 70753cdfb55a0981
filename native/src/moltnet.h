/*
 * The syscall layer of the addon: plain C, no N-API, so it reads like the kernel interfaces it wraps.
 *
 *   moltnet.c     N-API glue: argument checks, errors, the exported functions (see src/dataplane/io/native.ts)
 *   fdio.c        readBatch/writeBatch: one read(2)/write(2) per packet on any non-blocking fd
 *   udp.c         UDP sockets, recvmmsg/sendmmsg, the 20-byte address records
 *   tun_linux.c   /dev/net/tun            (built on Linux)
 *   tun_darwin.c  utun kernel control     (built on macOS)
 *   offload.c     checksum, segmentation of TUN superpackets, coalescing for TUN writes (pure byte work)
 *   offload_napi.c  N-API glue for offload.c and for tunOpen's offload option
 *
 * Functions return a count or fd on success and -errno on failure; nothing here touches JS or keeps state,
 * so every function is safe to call from any thread (the forwarding worker included).
 */
#ifndef MOLTNET_H
#define MOLTNET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <netinet/in.h>

/* Most packets one call moves. Per-call arrays (iovec, mmsghdr, addresses) of this size live on the stack:
 * about 28 KiB, well inside a worker thread's stack, and no allocation per packet or per call. */
#define MN_BATCH 256

/* Underlay address record: 16-byte IPv6 (IPv4 as ::ffff:a.b.c.d), 2-byte port big-endian, 2 zero bytes. */
#define MN_ADDR_LEN 20

union mn_sockaddr {
  struct sockaddr sa;
  struct sockaddr_in in;
  struct sockaddr_in6 in6;
};

/* fdio.c */
int mn_read_batch(int fd, uint8_t *slab, size_t stride, size_t headroom, int max, int32_t *sizes);
int mn_write_batch(int fd, const uint8_t *slab, const int32_t *offsets, const int32_t *lengths, int count);

/* tun_<os>.c */
/* The TUN offload option. In: what the caller asks for. Out: what it got (vnet_hdr 0 and offloads 0 where
 * unsupported: macOS). offloads is a mask of MN_TUN_F_* (the kernel's TUN_F_* values). */
typedef struct {
  int vnet_hdr;
  unsigned offloads;
  /* IFF_MULTI_QUEUE: each open of the same name adds a queue (one per forwarding worker); every open must ask it. */
  int multi_queue;
} mn_tun_offload;

#define MN_TUN_F_CSUM 0x01
#define MN_TUN_F_TSO4 0x02
#define MN_TUN_F_TSO6 0x04
#define MN_TUN_F_TSO_ECN 0x08
#define MN_TUN_F_USO4 0x20 /* Linux 6.2 */
#define MN_TUN_F_USO6 0x40

int mn_tun_open(const char *name, char *out_name, size_t out_len, mn_tun_offload *offload, const char **syscall);
/* Bytes of driver header in front of every packet on this fd: 4 for a macOS utun, else 0. */
int mn_tun_header(int fd);

/* udp.c */
/* reuse_port: SO_REUSEPORT, one socket of a group that shares addr:port (one per forwarding worker). */
int mn_udp_open(const union mn_sockaddr *addr, int dual_stack, int reuse_port, const char **syscall);
/* Steer the datagrams of fd's SO_REUSEPORT group by a hash of the inner flow found at `offset` bytes into the
 * UDP payload (the inner IPv6 source address), over `n` sockets; -errno where the kernel cannot. */
int mn_udp_steer(int fd, int offset, int n);
int mn_udp_local_port(int fd);
int mn_recv_batch(int fd, uint8_t *slab, size_t stride, size_t headroom, int max, int32_t *sizes,
                  uint8_t *addrs);
int mn_send_batch(int fd, const uint8_t *slab, const int32_t *offsets, const int32_t *lengths,
                  const uint8_t *addrs, int count);
void mn_addr_to_record(uint8_t *rec, const union mn_sockaddr *sa, socklen_t len);
/* The sockaddr for a record on a socket of `family`; 0 if this socket cannot reach it. */
socklen_t mn_addr_from_record(const uint8_t *rec, int family, union mn_sockaddr *sa);


/* offload.c */
#define MN_VNET_HDR_LEN 10 /* struct virtio_net_hdr: flags, gso_type, hdr_len, gso_size, csum_start, csum_offset */
#define MN_VNET_NEEDS_CSUM 1
#define MN_GSO_NONE 0
#define MN_GSO_TCPV4 1
#define MN_GSO_TCPV6 4
#define MN_GSO_UDP_L4 5
#define MN_GSO_ECN 0x80

/* mn_gso_split's errors (negative), one per way a packet can be wrong. Mirrored in src/dataplane/io/native.ts. */
#define MN_OFF_ETRUNC -1   /* shorter than the headers it has or claims */
#define MN_OFF_EGSOTYPE -2 /* gso_type unknown, or not the packet's IP version */
#define MN_OFF_EGSOSIZE -3 /* gso_size 0 */
#define MN_OFF_ECSUM -4    /* NEEDS_CSUM missing on a GSO packet, csum_start/csum_offset out of range or not the L4 checksum */
#define MN_OFF_EHDR -5     /* IP or TCP header fields disagree with the packet (lengths, version, data offset, fragment) */
#define MN_OFF_EPROTO -6   /* IP protocol not the one gso_type says (IPv6 extension headers included) */
#define MN_OFF_ENOSPACE -7 /* more segments than max, or a segment longer than stride */

/* mn_gro_coalesce's counters, added into stats[]. */
enum {
  MN_GRO_IN,        /* packets given */
  MN_GRO_OUT,       /* packets written out (superpackets and the rest) */
  MN_GRO_MERGED,    /* segments appended to an earlier one */
  MN_GRO_SUPER,     /* superpackets made (2 segments or more) */
  MN_GRO_PASSED,    /* IPv6/TCP packets that cannot merge: no payload, SYN/FIN/RST/URG, no ACK */
  MN_GRO_BAD_CSUM,  /* segments with a wrong checksum that would have merged: passed on unchanged */
  MN_GRO_MALFORMED, /* IPv6/TCP with lengths that disagree with the buffer: passed on unchanged */
  MN_GRO_OTHER,     /* not IPv6/TCP (UDP, ICMPv6, IPv4, extension headers): passed on unchanged */
  MN_GRO_STATS
};
#define MN_GRO_WINDOW 256 /* packets considered together; a longer batch is coalesced window by window */

/* Folded one's-complement sum (network order) of [p, p+len) plus initial; mn_checksum is its complement. */
uint32_t mn_csum_sum(const uint8_t *p, size_t len, uint32_t initial);
uint16_t mn_checksum(const uint8_t *p, size_t len, uint32_t initial);
/* in = virtio_net_hdr + packet. Segment i goes to out + i*stride, sizes[i] = its length. Returns the count or
 * MN_OFF_E*. */
int mn_gso_split(const uint8_t *in, size_t in_len, uint8_t *out, size_t stride, int max, int32_t *sizes);
/* Segments first .. first+max-1 of the same split, each at most cap bytes (cap <= stride leaves room in front
 * of a slot); *total = how many the packet makes. Returns how many were written (0 once first >= total; max 0
 * checks the packet only) or MN_OFF_E*. */
int mn_gso_split_range(const uint8_t *in, size_t in_len, uint8_t *out, size_t stride, size_t cap, int first,
                       int max, int32_t *sizes, int *total);
/* Packets i = src[offsets[i] .. +lengths[i]] (IPv6, no virtio header). Output packet k (virtio_net_hdr +
 * packet) goes to dst[out_offsets[k] .. +out_lengths[k]], packed from dst_base; dst must hold
 * sum(lengths) + count * MN_VNET_HDR_LEN bytes from there. Returns the output count. stats may be NULL. */
int mn_gro_coalesce(const uint8_t *src, const int32_t *offsets, const int32_t *lengths, int count, uint8_t *dst,
                    size_t dst_base, int32_t *out_offsets, int32_t *out_lengths, int32_t *stats);

/* offload_io.c: batch I/O with offloads. Counters, added into stats[] (never reset here). */
enum {
  MN_OS_TUN_READS,      /* packets read from a vnet-header TUN */
  MN_OS_TUN_SUPER,      /* of them, GSO superpackets */
  MN_OS_TUN_SEGMENTS,   /* segments made of superpackets */
  MN_OS_TUN_BAD,        /* packets the split refused (dropped) */
  MN_OS_TUN_LAST_ERROR, /* the last refusal's MN_OFF_E* code (set, not added) */
  MN_OS_GSO_MSGS,       /* UDP_SEGMENT messages sent (2+ datagrams each) */
  MN_OS_GSO_SEGMENTS,   /* datagrams in them */
  MN_OS_GSO_EIO,        /* messages refused with EIO: the socket's route cannot do GSO; sent one by one */
  MN_OS_GSO_FAILED,     /* messages refused otherwise (EMSGSIZE, EINVAL): sent one by one */
  MN_OS_GRO_MSGS,       /* coalesced messages received (2+ datagrams each) */
  MN_OS_GRO_SEGMENTS,   /* datagrams in them */
  MN_OS_STATS
};
/* A TUN read buffer: the virtio header and the largest IP packet. */
#define MN_TUN_SCRATCH (MN_VNET_HDR_LEN + 65535)
#define MN_TUN_STATE 2
/* recvmmsg messages per call on a UDP_GRO socket, and the room for each (a coalesced message is < 64 KiB). */
#define MN_GRO_MSGS 8
#define MN_GRO_MSG_BYTES 65536
#define MN_GRO_SCRATCH (MN_GRO_MSGS * (MN_ADDR_LEN + MN_GRO_MSG_BYTES))
#define MN_GRO_STATE (3 + 2 * MN_GRO_MSGS)

/* Read packets from a vnet-header TUN into slots (slab + i*stride + headroom), superpackets split into segments.
 * scratch (MN_TUN_SCRATCH bytes) and state (MN_TUN_STATE, zeros at first) carry a superpacket that did not
 * fit to the next call. Returns the count, or -errno when nothing was read and the read failed. */
int mn_tun_read_split(int fd, uint8_t *scratch, size_t scratch_len, int32_t *state, uint8_t *slab, size_t stride,
                      size_t headroom, int max, int32_t *sizes, int32_t *stats);
/* mn_send_batch, with each run of equal-sized datagrams (the last may be shorter) to one address sent as one
 * UDP_SEGMENT message; with flow_offset >= 0, a run is also one inner flow (the 36 bytes of IPv6 source,
 * destination and ports at flow_offset into each datagram). Returns the datagrams sent. */
int mn_udp_send_gso(int fd, const uint8_t *slab, const int32_t *offsets, const int32_t *lengths,
                    const uint8_t *addrs, int count, int32_t *stats, int flow_offset);
/* mn_recv_batch on a UDP_GRO socket: coalesced messages are spread into one datagram per slot. scratch
 * (MN_GRO_SCRATCH bytes) and state (MN_GRO_STATE, zeros at first) carry what did not fit to the next call. */
int mn_udp_recv_gro(int fd, uint8_t *scratch, int32_t *state, uint8_t *slab, size_t stride, size_t headroom,
                    int max, int32_t *sizes, uint8_t *addrs, int32_t *stats);
/* Turn UDP_GRO on or off: 0 or -errno (ENOPROTOOPT where the kernel has none). */
int mn_udp_set_gro(int fd, int on);

#endif
