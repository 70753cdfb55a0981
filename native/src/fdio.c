/*
 * Batch read/write on a packet fd (TUN). One syscall per packet: a TUN has no recvmmsg, and readv() of
 * several buffers would still return one packet. The batch saves the JS<->C crossings, not the syscalls.
 */
#include "moltnet.h"

#include <errno.h>
#include <unistd.h>
#include <sys/uio.h>
#include <arpa/inet.h>

int mn_read_batch(int fd, uint8_t *slab, size_t stride, size_t headroom, int max, int32_t *sizes) {
  if (max <= 0) return 0;
  const int hdr = mn_tun_header(fd);
  const size_t cap = stride - headroom;
  uint8_t af[4];
  int n = 0;
  while (n < max) {
    uint8_t *p = slab + (size_t)n * stride + headroom;
    ssize_t r;
    if (hdr) {
      struct iovec v[2] = {{af, sizeof af}, {p, cap}};
      r = readv(fd, v, 2);
    } else {
      r = read(fd, p, cap);
    }
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return n > 0 ? n : -errno;
    }
    if (r == 0) break; /* EOF on a pipe or socket; a TUN never returns an empty packet */
    r -= hdr;
    if (r < 0) continue; /* a utun read shorter than its own header: nothing to deliver */
    /* A packet longer than the slot comes back cut to it (Linux tun copies what fits, returns that length
     * and drops the rest); its own length fields then disagree and the packet parser drops it. The clamp
     * only guards against a driver that reports the full length. */
    sizes[n++] = (int32_t)((size_t)r > cap ? cap : (size_t)r);
  }
  return n;
}

int mn_write_batch(int fd, const uint8_t *slab, const int32_t *offsets, const int32_t *lengths, int count) {
  if (count <= 0) return 0;
  const int hdr = mn_tun_header(fd);
  int written = 0;
  for (int i = 0; i < count; i++) {
    const uint8_t *p = slab + offsets[i];
    const size_t len = (size_t)lengths[i];
    ssize_t r;
    do {
      if (hdr) {
        /* utun wants the family in front, in network order; the IP version nibble says which. */
        uint32_t af = htonl(len > 0 && (p[0] >> 4) == 4 ? AF_INET : AF_INET6);
        struct iovec v[2] = {{&af, sizeof af}, {(void *)p, len}};
        r = writev(fd, v, 2);
      } else {
        r = write(fd, p, len);
      }
    } while (r < 0 && errno == EINTR);
    if (r >= 0) {
      written++;
    } else if (errno == EBADF) {
      break; /* every later write would fail the same way */
    }
    /* Anything else is this packet's problem: EIO (link down), EAGAIN, ENOBUFS, EINVAL (not an IP packet).
     * A router drops it and carries on; the caller sees it in the returned count. */
  }
  return written;
}
