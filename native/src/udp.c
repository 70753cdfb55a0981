/*
 * UDP underlay sockets and batch I/O. Linux has recvmmsg/sendmmsg (one syscall for up to MN_BATCH
 * datagrams); elsewhere the same results come from one recvmsg/sendmsg per datagram.
 *
 * Address records (MN_ADDR_LEN bytes) are always IPv6-shaped so JS handles one format: an IPv4 peer is the
 * v4-mapped ::ffff:a.b.c.d (RFC 4291 2.5.5.2). On a dual-stack AF_INET6 socket the kernel itself speaks
 * v4-mapped, so records pass straight through; on an AF_INET socket they are converted here.
 */
#define _GNU_SOURCE /* recvmmsg, sendmmsg and struct mmsghdr are GNU extensions in glibc */
#include "moltnet.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/uio.h>

static const uint8_t v4_mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static void set_buffer(int fd, int force_opt, int opt) {
  /* 7 MiB, as wireguard-go sizes its sockets since it batches with GSO/GRO: a burst of 64 KiB messages between
   * two wake-ups of the forwarder. The *FORCE variants (root, Linux) ignore net.core.[rw]mem_max; otherwise
   * the kernel caps silently. */
  int size = 7 << 20;
  if (force_opt >= 0 && setsockopt(fd, SOL_SOCKET, force_opt, &size, sizeof size) == 0) return;
  (void)setsockopt(fd, SOL_SOCKET, opt, &size, sizeof size);
}

int mn_udp_open(const union mn_sockaddr *addr, int dual_stack, int reuse_port, const char **syscall) {
  const int family = addr->sa.sa_family;
#ifdef SOCK_NONBLOCK
  int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
#else
  int fd = socket(family, SOCK_DGRAM, 0);
  if (fd >= 0 && (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)) {
    int err = errno;
    close(fd);
    *syscall = "fcntl";
    return -err;
  }
#endif
  if (fd < 0) {
    *syscall = "socket";
    return -errno;
  }
  /* No SO_REUSEADDR: on Linux it lets a second UDP socket bind the same addr:port and take its traffic
   * silently. A second daemon on 4789 must fail with EADDRINUSE instead. */
  int err = 0;
  if (reuse_port) {
    /* A group of one daemon's workers. The caller first binds without it (udpOpen), so a port another
     * process holds still fails with EADDRINUSE rather than being shared. */
    int on = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) < 0) {
      *syscall = "setsockopt(SO_REUSEPORT)";
      err = errno;
    }
  }
  if (!err && dual_stack) {
    int off = 0; /* accept IPv4 peers as ::ffff:a.b.c.d whatever net.ipv6.bindv6only says */
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off) < 0) {
      *syscall = "setsockopt(IPV6_V6ONLY)";
      err = errno;
    }
  }
  if (!err) {
#ifdef SO_RCVBUFFORCE
    set_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF);
    set_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF);
#else
    set_buffer(fd, -1, SO_RCVBUF);
    set_buffer(fd, -1, SO_SNDBUF);
#endif
    socklen_t len = family == AF_INET ? sizeof addr->in : sizeof addr->in6;
    if (bind(fd, &addr->sa, len) < 0) {
      *syscall = "bind";
      err = errno;
    }
  }
  if (err) {
    close(fd);
    return -err;
  }
  return fd;
}

int mn_udp_local_port(int fd) {
  union mn_sockaddr sa;
  socklen_t len = sizeof sa;
  if (getsockname(fd, &sa.sa, &len) < 0) return -errno;
  if (sa.sa.sa_family == AF_INET) return ntohs(sa.in.sin_port);
  if (sa.sa.sa_family == AF_INET6) return ntohs(sa.in6.sin6_port);
  return -EAFNOSUPPORT;
}

static int socket_family(int fd) {
  union mn_sockaddr sa;
  socklen_t len = sizeof sa;
  if (getsockname(fd, &sa.sa, &len) < 0) return -errno;
  return sa.sa.sa_family;
}

void mn_addr_to_record(uint8_t *rec, const union mn_sockaddr *sa, socklen_t len) {
  memset(rec, 0, MN_ADDR_LEN);
  if (len >= sizeof sa->in6 && sa->sa.sa_family == AF_INET6) {
    memcpy(rec, &sa->in6.sin6_addr, 16);
    memcpy(rec + 16, &sa->in6.sin6_port, 2);
  } else if (len >= sizeof sa->in && sa->sa.sa_family == AF_INET) {
    memcpy(rec, v4_mapped_prefix, 12);
    memcpy(rec + 12, &sa->in.sin_addr, 4);
    memcpy(rec + 16, &sa->in.sin_port, 2);
  }
}

/* The sockaddr for a record on a socket of `family`; 0 if this socket cannot reach it. */
socklen_t mn_addr_from_record(const uint8_t *rec, int family, union mn_sockaddr *sa) {
  memset(sa, 0, sizeof *sa);
  if (family == AF_INET6) {
    sa->in6.sin6_family = AF_INET6;
    memcpy(&sa->in6.sin6_addr, rec, 16);
    memcpy(&sa->in6.sin6_port, rec + 16, 2);
    return sizeof sa->in6;
  }
  if (family == AF_INET && memcmp(rec, v4_mapped_prefix, 12) == 0) {
    sa->in.sin_family = AF_INET;
    memcpy(&sa->in.sin_addr, rec + 12, 4);
    memcpy(&sa->in.sin_port, rec + 16, 2);
    return sizeof sa->in;
  }
  return 0;
}

/* Errors that no later datagram in the batch can escape. */
static int fatal_send_error(int err) {
  return err == EBADF || err == ENOTSOCK || err == EFAULT;
}

#if defined(__linux__) && !defined(MN_NO_MMSG)

int mn_recv_batch(int fd, uint8_t *slab, size_t stride, size_t headroom, int max, int32_t *sizes,
                  uint8_t *addrs) {
  if (max <= 0) return 0;
  struct mmsghdr msgs[MN_BATCH];
  struct iovec iov[MN_BATCH];
  union mn_sockaddr names[MN_BATCH];
  if (max > MN_BATCH) max = MN_BATCH;
  for (int i = 0; i < max; i++) {
    iov[i].iov_base = slab + (size_t)i * stride + headroom;
    iov[i].iov_len = stride - headroom;
    memset(&msgs[i], 0, sizeof msgs[i]);
    msgs[i].msg_hdr.msg_name = &names[i];
    msgs[i].msg_hdr.msg_namelen = sizeof names[i];
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  int r;
  do {
    r = recvmmsg(fd, msgs, (unsigned)max, MSG_DONTWAIT, NULL);
  } while (r < 0 && errno == EINTR);
  if (r < 0) return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
  for (int i = 0; i < r; i++) {
    /* A datagram longer than the slot arrives cut (MSG_TRUNC in msg_flags) with msg_len = bytes copied;
     * its own length fields then disagree and the packet parser drops it. */
    sizes[i] = (int32_t)msgs[i].msg_len;
    mn_addr_to_record(addrs + (size_t)i * MN_ADDR_LEN, &names[i], msgs[i].msg_hdr.msg_namelen);
  }
  return r;
}

int mn_send_batch(int fd, const uint8_t *slab, const int32_t *offsets, const int32_t *lengths,
                  const uint8_t *addrs, int count) {
  if (count <= 0) return 0;
  const int family = socket_family(fd);
  if (family < 0) return 0;
  struct mmsghdr msgs[MN_BATCH];
  struct iovec iov[MN_BATCH];
  union mn_sockaddr names[MN_BATCH];
  int sent = 0;
  int i = 0;
  while (i < count) {
    int n = 0;
    for (; i < count && n < MN_BATCH; i++) {
      socklen_t len = mn_addr_from_record(addrs + (size_t)i * MN_ADDR_LEN, family, &names[n]);
      if (len == 0) continue; /* an IPv6 peer on an IPv4 socket: unreachable, dropped */
      iov[n].iov_base = (void *)(slab + offsets[i]);
      iov[n].iov_len = (size_t)lengths[i];
      memset(&msgs[n], 0, sizeof msgs[n]);
      msgs[n].msg_hdr.msg_name = &names[n];
      msgs[n].msg_hdr.msg_namelen = len;
      msgs[n].msg_hdr.msg_iov = &iov[n];
      msgs[n].msg_hdr.msg_iovlen = 1;
      n++;
    }
    int done = 0;
    while (done < n) {
      int r = sendmmsg(fd, msgs + done, (unsigned)(n - done), MSG_DONTWAIT);
      if (r > 0) {
        done += r;
        sent += r;
        continue;
      }
      if (r < 0 && errno == EINTR) continue;
      /* Socket buffer full: the rest would fail too; the caller drops or retries them. */
      if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return sent;
      if (r < 0 && fatal_send_error(errno)) return sent;
      /* sendmmsg reports an error only when the first datagram fails (EMSGSIZE, ENETUNREACH, EINVAL for
       * a v4-mapped peer on a v6-only socket...): drop that one and send the rest. */
      done++;
    }
  }
  return sent;
}

#else /* no recvmmsg/sendmmsg (macOS): one syscall per datagram, same results */

int mn_recv_batch(int fd, uint8_t *slab, size_t stride, size_t headroom, int max, int32_t *sizes,
                  uint8_t *addrs) {
  if (max > MN_BATCH) max = MN_BATCH;
  int n = 0;
  while (n < max) {
    union mn_sockaddr name;
    struct iovec v = {slab + (size_t)n * stride + headroom, stride - headroom};
    struct msghdr m;
    memset(&m, 0, sizeof m);
    m.msg_name = &name;
    m.msg_namelen = sizeof name;
    m.msg_iov = &v;
    m.msg_iovlen = 1;
    ssize_t r = recvmsg(fd, &m, MSG_DONTWAIT);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return n > 0 ? n : -errno;
    }
    sizes[n] = (int32_t)r;
    mn_addr_to_record(addrs + (size_t)n * MN_ADDR_LEN, &name, m.msg_namelen);
    n++;
  }
  return n;
}

int mn_send_batch(int fd, const uint8_t *slab, const int32_t *offsets, const int32_t *lengths,
                  const uint8_t *addrs, int count) {
  const int family = count > 0 ? socket_family(fd) : -1;
  if (family < 0) return 0;
  int sent = 0;
  for (int i = 0; i < count; i++) {
    union mn_sockaddr name;
    socklen_t len = mn_addr_from_record(addrs + (size_t)i * MN_ADDR_LEN, family, &name);
    if (len == 0) continue;
    struct iovec v = {(void *)(slab + offsets[i]), (size_t)lengths[i]};
    struct msghdr m;
    memset(&m, 0, sizeof m);
    m.msg_name = &name;
    m.msg_namelen = len;
    m.msg_iov = &v;
    m.msg_iovlen = 1;
    ssize_t r;
    do {
      r = sendmsg(fd, &m, MSG_DONTWAIT);
    } while (r < 0 && errno == EINTR);
    if (r >= 0) {
      sent++;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK || fatal_send_error(errno)) {
      break;
    }
  }
  return sent;
}

#endif

#ifdef __linux__
#include <linux/filter.h>

/*
 * A classic BPF program for SO_ATTACH_REUSEPORT_CBPF. The kernel runs it on each datagram with the data
 * pointer past the UDP header, and takes its result as the index of the socket in the group; an index out
 * of range (or a load past the end, which makes the program return 0) falls back to socket 0 / the default
 * hash. It XORs the inner IPv6 source and destination addresses and the first word of the inner transport
 * header (TCP/UDP ports), folds and mixes the 32 bits, and returns that mod n: every datagram of one inner flow goes to
 * one worker, so a TCP stream is never reordered between workers, and different flows spread.
 */
int mn_udp_steer(int fd, int offset, int n) {
  if (n < 1 || n > 64 || offset < 0 || offset > 4096) return -EINVAL;
  struct sock_filter prog[40]; /* 32 used */
  int k = 0;
  /* X = word 0; then A = word i ^ X; X = A for words 1..8 (src 4, dst 4, ports 1). */
  prog[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)offset);
  prog[k++] = (struct sock_filter)BPF_STMT(BPF_MISC | BPF_TAX, 0);
  for (int i = 1; i <= 8; i++) {
    prog[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)(offset + 4 * i));
    prog[k++] = (struct sock_filter)BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0);
    prog[k++] = (struct sock_filter)BPF_STMT(BPF_MISC | BPF_TAX, 0);
  }
  /* Fold the ports (the high half holds the source port) into the low half, then Fibonacci hashing: the high
   * half of A * 2^32/phi depends on every low bit. A plain XOR is not enough: Linux gives connect()ed sockets
   * even ports, all of one client's connections sharing their high byte, so few low bits ever differ. */
  prog[k++] = (struct sock_filter)BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 16);
  prog[k++] = (struct sock_filter)BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0);
  prog[k++] = (struct sock_filter)BPF_STMT(BPF_ALU | BPF_MUL | BPF_K, 0x9e3779b1u);
  prog[k++] = (struct sock_filter)BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 16);
  prog[k++] = (struct sock_filter)BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, (uint32_t)n);
  prog[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_A, 0);
  struct sock_fprog fprog = {.len = (unsigned short)k, .filter = prog};
  return setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &fprog, sizeof fprog) < 0 ? -errno : 0;
}
#else
int mn_udp_steer(int fd, int offset, int n) {
  (void)fd;
  (void)offset;
  (void)n;
  return -EOPNOTSUPP;
}
#endif
