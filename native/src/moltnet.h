/*
 * The syscall layer of the addon: plain C, no N-API, so it reads like the kernel interfaces it wraps.
 *
 *   moltnet.c     N-API glue: argument checks, errors, the exported functions (see src/dataplane/io/native.ts)
 *   fdio.c        readBatch/writeBatch: one read(2)/write(2) per packet on any non-blocking fd
 *   udp.c         UDP sockets, recvmmsg/sendmmsg, the 20-byte address records
 *   tun_linux.c   /dev/net/tun            (built on Linux)
 *   tun_darwin.c  utun kernel control     (built on macOS)
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
int mn_tun_open(const char *name, char *out_name, size_t out_len, const char **syscall);
/* Bytes of driver header in front of every packet on this fd: 4 for a macOS utun, else 0. */
int mn_tun_header(int fd);

/* udp.c */
int mn_udp_open(const union mn_sockaddr *addr, int dual_stack, const char **syscall);
int mn_udp_local_port(int fd);
int mn_recv_batch(int fd, uint8_t *slab, size_t stride, size_t headroom, int max, int32_t *sizes,
                  uint8_t *addrs);
int mn_send_batch(int fd, const uint8_t *slab, const int32_t *offsets, const int32_t *lengths,
                  const uint8_t *addrs, int count);

#endif
