/*
 * Batch I/O with offloads: the syscall half of TUN and UDP offloads, on top of offload.c's byte work.
 *
 *   mn_tun_read_split   read a vnet-header TUN; each (super)packet is split into MTU-sized segments, one per slot
 *   mn_udp_send_gso     sendmmsg where each message carries a run of equal-sized datagrams to one peer
 *                       (UDP_SEGMENT, Linux 4.18+): one trip down the stack for up to 64 datagrams
 *   mn_udp_recv_gro     recvmmsg on a UDP_GRO socket (Linux 5.0+): a message may hold many datagrams of one
 *                       sender, gso_size each; they are spread into slots as if received one by one
 *
 * Everything the engine sees stays as before: one packet per slot, headroom in front. A superpacket or a
 * coalesced message that does not fit the slots left stays in the caller's scratch buffer, with its progress
 * in the caller's `state` array, and the next call goes on from there. No state of our own: any thread.
 */
#define _GNU_SOURCE /* recvmmsg, sendmmsg, struct mmsghdr */
#include "moltnet.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/uio.h>

#ifndef SOL_UDP
#define SOL_UDP 17
#endif
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103 /* linux/udp.h: send with a gso_size (uint16_t) */
#endif
#ifndef UDP_GRO
#define UDP_GRO 104 /* linux/udp.h: receive coalesced, gso_size (int) in a cmsg */
#endif

/* --- TUN read + split ------------------------------------------------------------------------------------ */

int mn_tun_read_split(int fd, uint8_t *scratch, size_t scratch_len, int32_t *state, uint8_t *slab, size_t stride,
                      size_t headroom, int max, int32_t *sizes, int32_t *stats) {
  int n = 0;
  while (n < max) {
    if (state[0] <= 0) {
      ssize_t r = read(fd, scratch, scratch_len);
      if (r < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        return n > 0 ? n : -errno;
      }
      if (r == 0) break;
      state[0] = (int32_t)r;
      state[1] = 0;
      stats[MN_OS_TUN_READS]++;
      if (r > MN_VNET_HDR_LEN && (scratch[1] & ~MN_GSO_ECN) != MN_GSO_NONE) stats[MN_OS_TUN_SUPER]++;
    }
    int total = 0;
    const int k = mn_gso_split_range(scratch, (size_t)state[0], slab + (size_t)n * stride + headroom, stride,
                                     stride - headroom, state[1], max - n, sizes + n, &total);
    if (k < 0) {
      /* A packet the kernel should never have made (or one too big for a slot): dropped, counted. */
      stats[MN_OS_TUN_BAD]++;
      stats[MN_OS_TUN_LAST_ERROR] = k;
      state[0] = 0;
      continue;
    }
    if (total > 1) stats[MN_OS_TUN_SEGMENTS] += k;
    n += k;
    state[1] += k;
    if (state[1] >= total) state[0] = 0;
  }
  return n;
}

#if defined(__linux__) && !defined(MN_NO_MMSG)

/* --- UDP send with UDP_SEGMENT --------------------------------------------------------------------------- */

/* The kernel takes at most UDP_MAX_SEGMENTS (64 before 6.x, 128 after) datagrams per message, and the payload
 * of all of them must fit one IP packet's length field. */
#define GSO_MAX_SEGS 64
#define GSO_MAX_BYTES 65000

typedef union {
  char buf[CMSG_SPACE(sizeof(uint16_t))];
  struct cmsghdr align;
} gso_cmsg;

/* Each of `n` iovecs as its own datagram to the message's address. Returns how many went, -1 when the socket is
 * full (the rest would fail too). */
static int send_each(int fd, const struct msghdr *msg, struct iovec *iov, int n) {
  int sent = 0;
  for (int k = 0; k < n; k++) {
    struct msghdr one;
    memset(&one, 0, sizeof one);
    one.msg_name = msg->msg_name;
    one.msg_namelen = msg->msg_namelen;
    one.msg_iov = &iov[k];
    one.msg_iovlen = 1;
    ssize_t w;
    do {
      w = sendmsg(fd, &one, MSG_DONTWAIT);
    } while (w < 0 && errno == EINTR);
    if (w >= 0) sent++;
    else if (errno == EAGAIN || errno == EWOULDBLOCK) return sent > 0 ? sent : -1;
  }
  return sent;
}

/* Bytes of the inner flow key compared by mn_udp_send_gso: IPv6 source, destination, then the ports word. */
#define FLOW_KEY_LEN 36

/* Whether datagrams a and b (lengths la, lb) carry the same inner flow at `off`; a datagram too short to hold
 * the key matches nothing but itself. */
static int same_flow(const uint8_t *a, int32_t la, const uint8_t *b, int32_t lb, int off) {
  if (la < off + FLOW_KEY_LEN || lb < off + FLOW_KEY_LEN) return 0;
  return memcmp(a + off, b + off, FLOW_KEY_LEN) == 0;
}

int mn_udp_send_gso(int fd, const uint8_t *slab, const int32_t *offsets, const int32_t *lengths,
                    const uint8_t *addrs, int count, int32_t *stats, int flow_offset) {
  if (count <= 0) return 0;
  union mn_sockaddr probe;
  socklen_t probe_len = sizeof probe;
  if (getsockname(fd, &probe.sa, &probe_len) < 0) return 0;
  const int family = probe.sa.sa_family;

  struct mmsghdr msgs[MN_BATCH];
  struct iovec iov[MN_BATCH];
  union mn_sockaddr names[MN_BATCH];
  gso_cmsg cmsgs[MN_BATCH];
  int first[MN_BATCH + 1]; /* message m carries entries first[m] .. first[m+1]-1 */
  int sent = 0;
  int i = 0;
  while (i < count) {
    /* Group up to MN_BATCH entries into messages: a run to one address, every datagram the size of the first
     * but the last, which may be shorter (UDP_SEGMENT cuts the payload at gso_size boundaries). An empty
     * datagram goes alone: in a run it would add nothing to cut. With flow_offset >= 0, a run is also one inner
     * flow: the receiver steers a whole message to one of its workers by its first datagram (udpSteer). */
    int m = 0, v = 0;
    while (i < count && v < MN_BATCH) {
      const uint8_t *rec = addrs + (size_t)i * MN_ADDR_LEN;
      socklen_t name_len = mn_addr_from_record(rec, family, &names[m]);
      if (name_len == 0) { /* an IPv6 peer on an IPv4 socket: unreachable, dropped */
        i++;
        continue;
      }
      const int32_t size = lengths[i];
      const int run = i;
      int segs = 0;
      size_t bytes = 0;
      first[m] = v;
      while (i < count && v < MN_BATCH && segs < GSO_MAX_SEGS && bytes + (size_t)lengths[i] <= GSO_MAX_BYTES &&
             (segs == 0 || (lengths[i] > 0 && lengths[i] <= size && memcmp(addrs + (size_t)i * MN_ADDR_LEN, rec, MN_ADDR_LEN) == 0 &&
                            (flow_offset < 0 || same_flow(slab + offsets[run], size, slab + offsets[i], lengths[i], flow_offset))))) {
        iov[v].iov_base = (void *)(slab + offsets[i]);
        iov[v].iov_len = (size_t)lengths[i];
        bytes += (size_t)lengths[i];
        v++;
        segs++;
        const int shorter = lengths[i] < size;
        i++;
        if (shorter) break; /* a short datagram ends its run */
      }
      memset(&msgs[m], 0, sizeof msgs[m]);
      msgs[m].msg_hdr.msg_name = &names[m];
      msgs[m].msg_hdr.msg_namelen = name_len;
      msgs[m].msg_hdr.msg_iov = &iov[first[m]];
      msgs[m].msg_hdr.msg_iovlen = (size_t)segs;
      if (segs > 1 && size > 0) {
        memset(&cmsgs[m], 0, sizeof cmsgs[m]);
        msgs[m].msg_hdr.msg_control = cmsgs[m].buf;
        msgs[m].msg_hdr.msg_controllen = sizeof cmsgs[m].buf;
        struct cmsghdr *cm = CMSG_FIRSTHDR(&msgs[m].msg_hdr);
        cm->cmsg_level = SOL_UDP;
        cm->cmsg_type = UDP_SEGMENT;
        cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
        const uint16_t gso = (uint16_t)size;
        memcpy(CMSG_DATA(cm), &gso, sizeof gso);
      }
      m++;
    }
    first[m] = v;
    int done = 0;
    while (done < m) {
      int r = sendmmsg(fd, msgs + done, (unsigned)(m - done), MSG_DONTWAIT);
      if (r > 0) {
        for (int k = done; k < done + r; k++) {
          const int segs = first[k + 1] - first[k];
          sent += segs;
          if (segs > 1) {
            stats[MN_OS_GSO_MSGS]++;
            stats[MN_OS_GSO_SEGMENTS] += segs;
          }
        }
        done += r;
        continue;
      }
      if (r == 0) return sent;
      const int err = errno;
      if (err == EINTR) continue;
      if (err == EAGAIN || err == EWOULDBLOCK || err == EBADF || err == ENOTSOCK || err == EFAULT) return sent;
      /* The first message failed. Sent one datagram at a time instead, it may still go (a device without
       * checksum offload refuses GSO with EIO; a route MTU below gso_size gives EMSGSIZE or EINVAL). EIO tells
       * the caller to stop asking for GSO on this socket: the rest of this call goes without it. */
      if (first[done + 1] - first[done] == 1) {
        done++; /* a single datagram that failed: dropped, as mn_send_batch does */
        continue;
      }
      if (err != EIO) {
        stats[MN_OS_GSO_FAILED]++;
        const int w = send_each(fd, &msgs[done].msg_hdr, &iov[first[done]], first[done + 1] - first[done]);
        if (w < 0) return sent;
        sent += w;
        done++;
        continue;
      }
      stats[MN_OS_GSO_EIO]++;
      for (; done < m; done++) {
        const int w = send_each(fd, &msgs[done].msg_hdr, &iov[first[done]], first[done + 1] - first[done]);
        if (w < 0) return sent;
        sent += w;
      }
      return sent + mn_send_batch(fd, slab, offsets + i, lengths + i, addrs + (size_t)i * MN_ADDR_LEN, count - i);
    }
  }
  return sent;
}

/* --- UDP receive with UDP_GRO ---------------------------------------------------------------------------- */

/*
 * scratch: MN_GRO_MSGS address records (MN_ADDR_LEN each), then MN_GRO_MSGS buffers of MN_GRO_MSG_BYTES.
 * state:   [0] messages held, [1] the one being spread, [2] offset in it,
 *          then per message: [3 + 2m] its length, [4 + 2m] its gso_size (its length when not coalesced).
 */
typedef union {
  char buf[CMSG_SPACE(sizeof(int))];
  struct cmsghdr align;
} gro_cmsg;

int mn_udp_recv_gro(int fd, uint8_t *scratch, int32_t *state, uint8_t *slab, size_t stride, size_t headroom,
                    int max, int32_t *sizes, uint8_t *addrs, int32_t *stats) {
  uint8_t *const recs = scratch;
  uint8_t *const data = scratch + MN_GRO_MSGS * MN_ADDR_LEN;
  const size_t cap = stride - headroom;
  int n = 0, drained = 0;
  while (n < max) {
    if (state[1] >= state[0]) {
      if (drained) break; /* this call's last recvmmsg emptied the socket: don't ask again */
      struct mmsghdr msgs[MN_GRO_MSGS];
      struct iovec iov[MN_GRO_MSGS];
      union mn_sockaddr names[MN_GRO_MSGS];
      gro_cmsg cmsgs[MN_GRO_MSGS];
      memset(msgs, 0, sizeof msgs);
      for (int m = 0; m < MN_GRO_MSGS; m++) {
        iov[m].iov_base = data + (size_t)m * MN_GRO_MSG_BYTES;
        iov[m].iov_len = MN_GRO_MSG_BYTES;
        msgs[m].msg_hdr.msg_name = &names[m];
        msgs[m].msg_hdr.msg_namelen = sizeof names[m];
        msgs[m].msg_hdr.msg_iov = &iov[m];
        msgs[m].msg_hdr.msg_iovlen = 1;
        msgs[m].msg_hdr.msg_control = cmsgs[m].buf;
        msgs[m].msg_hdr.msg_controllen = sizeof cmsgs[m].buf;
      }
      int r;
      do {
        r = recvmmsg(fd, msgs, MN_GRO_MSGS, MSG_DONTWAIT, NULL);
      } while (r < 0 && errno == EINTR);
      state[0] = state[1] = state[2] = 0;
      if (r < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        return n > 0 ? n : -errno;
      }
      if (r == 0) break;
      state[0] = r;
      drained = r < MN_GRO_MSGS;
      for (int m = 0; m < r; m++) {
        const int32_t len = (int32_t)msgs[m].msg_len;
        int32_t gso = len > 0 ? len : 1;
        for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msgs[m].msg_hdr); cm; cm = CMSG_NXTHDR(&msgs[m].msg_hdr, cm)) {
          if (cm->cmsg_level == SOL_UDP && cm->cmsg_type == UDP_GRO) {
            int g;
            memcpy(&g, CMSG_DATA(cm), sizeof g);
            if (g > 0 && g < len) gso = g;
          }
        }
        state[3 + 2 * m] = len;
        state[4 + 2 * m] = gso;
        mn_addr_to_record(recs + (size_t)m * MN_ADDR_LEN, &names[m], msgs[m].msg_hdr.msg_namelen);
        if (gso < len) {
          stats[MN_OS_GRO_MSGS]++;
          stats[MN_OS_GRO_SEGMENTS] += (len + gso - 1) / gso;
        }
      }
    }
    const int m = state[1];
    const int32_t len = state[3 + 2 * m], gso = state[4 + 2 * m];
    const uint8_t *msg = data + (size_t)m * MN_GRO_MSG_BYTES;
    int32_t off = state[2];
    do {
      /* A zero-length datagram stays one (empty) packet, as without GRO: the link's parser counts it. */
      const int32_t seg = len - off < gso ? len - off : gso;
      const size_t copy = (size_t)seg > cap ? cap : (size_t)seg; /* cut, as recvmmsg cuts: the parser drops it */
      memcpy(slab + (size_t)n * stride + headroom, msg + off, copy);
      sizes[n] = (int32_t)copy;
      memcpy(addrs + (size_t)n * MN_ADDR_LEN, recs + (size_t)m * MN_ADDR_LEN, MN_ADDR_LEN);
      n++;
      off += seg;
    } while (off < len && n < max);
    if (off >= len) {
      state[1] = m + 1;
      state[2] = 0;
    } else {
      state[2] = off;
    }
  }
  return n;
}

int mn_udp_set_gro(int fd, int on) {
  return setsockopt(fd, SOL_UDP, UDP_GRO, &on, sizeof on) < 0 ? -errno : 0;
}

#else /* no UDP_SEGMENT / UDP_GRO (macOS): the plain calls */

int mn_udp_send_gso(int fd, const uint8_t *slab, const int32_t *offsets, const int32_t *lengths,
                    const uint8_t *addrs, int count, int32_t *stats, int flow_offset) {
  (void)stats;
  (void)flow_offset;
  return mn_send_batch(fd, slab, offsets, lengths, addrs, count);
}

int mn_udp_recv_gro(int fd, uint8_t *scratch, int32_t *state, uint8_t *slab, size_t stride, size_t headroom,
                    int max, int32_t *sizes, uint8_t *addrs, int32_t *stats) {
  (void)scratch;
  (void)state;
  (void)stats;
  return mn_recv_batch(fd, slab, stride, headroom, max, sizes, addrs);
}

int mn_udp_set_gro(int fd, int on) {
  (void)fd;
  (void)on;
  return -ENOPROTOOPT;
}

#endif
