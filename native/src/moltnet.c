/*
 * N-API glue for the contract in src/dataplane/io/native.ts.
 *
 * Every exported function is synchronous and keeps no state between calls (no libuv handles, no globals),
 * so the addon can be loaded by several worker threads at once: NAPI_MODULE_INIT registers it per context.
 *
 * Bad arguments throw TypeError/RangeError (codes ERR_INVALID_ARG_TYPE / ERR_OUT_OF_RANGE, like Node's own)
 * before any syscall: a slab offset that escapes its Buffer would otherwise be a wild kernel write.
 * Opening things throws an Error whose .code is the errno name; per-packet I/O never throws.
 */
#include "moltnet.h"
#include "napi_call.h"

#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <time.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#ifdef __linux__
#include <sys/syscall.h>
#endif
#include <arpa/inet.h>
#include <net/if.h>

#include <node_api.h>
#include <uv.h>

#define POLL_STACK 64 /* pollfd entries on the stack; more are allocated for the call */

/* pollIn's flags in `ready`, as in src/dataplane/io/native.ts. */
#define MN_POLL_IN 1
#define MN_POLL_ERR 2
#define MN_POLL_HUP 4
#define MN_POLL_NVAL 8

static bool arg_fd(call_t *c, int i, int *fd) {
  int64_t v;
  if (!arg_int(c, i, "fd", 0, INT32_MAX, &v)) return false;
  *fd = (int)v;
  return true;
}

/* slab, stride, headroom, max, sizes at argv[1..5] of readBatch/recvBatch. */
typedef struct {
  uint8_t *slab;
  size_t stride, headroom;
  int64_t asked; /* the caller's max, for checking other arrays against it */
  int max;       /* clamped to MN_BATCH */
  int32_t *sizes;
} slots_t;

static bool arg_slots(call_t *c, slots_t *s) {
  size_t slab_len, sizes_len;
  int64_t stride, headroom, max;
  if (!arg_bytes(c, 1, "slab", &s->slab, &slab_len) || !arg_int(c, 2, "stride", 1, INT32_MAX, &stride) ||
      !arg_int(c, 3, "headroom", 0, stride - 1, &headroom) || !arg_int(c, 4, "max", 0, INT32_MAX, &max) ||
      !arg_i32s(c, 5, "sizes", &s->sizes, &sizes_len)) {
    return false;
  }
  /* Checked against the caller's max, before clamping, so a wrong slab fails every time, not only under load. */
  if ((uint64_t)max * (uint64_t)stride > slab_len) {
    return throw_fmt(c, true, "slab (%zu bytes) is smaller than max * stride (%lld * %lld)", slab_len,
                     (long long)max, (long long)stride);
  }
  if ((uint64_t)max > sizes_len) {
    return throw_fmt(c, true, "sizes (%zu entries) is shorter than max (%lld)", sizes_len, (long long)max);
  }
  s->stride = (size_t)stride;
  s->headroom = (size_t)headroom;
  s->asked = max;
  s->max = max > MN_BATCH ? MN_BATCH : (int)max;
  return true;
}

/* slab, offsets, lengths: every packet [offsets[i], offsets[i]+lengths[i]) must lie inside the slab. */
typedef struct {
  uint8_t *slab;
  int32_t *offsets, *lengths;
} packets_t;

static bool arg_packets(call_t *c, int first, int count_at, packets_t *p, int *count) {
  size_t slab_len, n_off, n_len;
  int64_t n;
  if (!arg_bytes(c, first, "slab", &p->slab, &slab_len) || !arg_i32s(c, first + 1, "offsets", &p->offsets, &n_off) ||
      !arg_i32s(c, first + 2, "lengths", &p->lengths, &n_len) || !arg_int(c, count_at, "count", 0, INT32_MAX, &n)) {
    return false;
  }
  if ((uint64_t)n > n_off || (uint64_t)n > n_len) {
    return throw_fmt(c, true, "count (%lld) exceeds offsets (%zu) or lengths (%zu)", (long long)n, n_off, n_len);
  }
  for (int64_t i = 0; i < n; i++) {
    int64_t off = p->offsets[i], len = p->lengths[i];
    if (off < 0 || len < 0 || (uint64_t)(off + len) > slab_len) {
      return throw_fmt(c, true, "packet %lld (offset %lld, length %lld) is outside the slab (%zu bytes)",
                       (long long)i, (long long)off, (long long)len, slab_len);
    }
  }
  *count = (int)n;
  return true;
}

/* tunOpen, checksum, gsoSplit, groCoalesce: offload_napi.c (tunOpen moved there with its offload option). */
napi_value mn_js_tun_open(napi_env env, napi_callback_info info);
napi_value mn_js_checksum(napi_env env, napi_callback_info info);
napi_value mn_js_gso_split(napi_env env, napi_callback_info info);
napi_value mn_js_gro_coalesce(napi_env env, napi_callback_info info);

/* close(fd) */
static napi_value js_close(napi_env env, napi_callback_info info) {
  call_t c;
  int fd;
  if (!start(&c, env, info, "close") || !arg_fd(&c, 0, &fd)) return NULL;
  /* EINTR: Linux has released the fd already; retrying could close someone else's new fd. */
  if (close(fd) < 0 && errno != EINTR) {
    char what[24];
    snprintf(what, sizeof what, "fd %d", fd);
    return throw_errno(&c, errno, what, "close");
  }
  return NULL;
}

/* pollIn(fds, timeoutMs, ready[, spinUs]) -> how many fds have a flag. Any number of fds: ready[i] gets a byte
 * of flags per fd instead of a bit in a 32-bit mask. POLLERR/POLLHUP/POLLNVAL come back as their own flags,
 * not as "readable": the caller can tell a dead fd (which poll(2) reports at once, every time) from one with
 * data, and stop polling it instead of spinning. spinUs > 0 (and a timeout that is not 0): first poll without
 * sleeping for up to that long (at most the timeout), with sched_yield() between tries so that any other
 * runnable thread on this CPU goes first, then sleep in poll(2) as usual. */
static napi_value js_poll_in(napi_env env, napi_callback_info info) {
  call_t c;
  int32_t *fds;
  uint8_t *ready;
  size_t n, n_ready;
  int64_t timeout, spin_us = 0;
  if (!start(&c, env, info, "pollIn") || !arg_i32s(&c, 0, "fds", &fds, &n) ||
      !arg_int(&c, 1, "timeoutMs", -1, INT32_MAX, &timeout) || !arg_bytes(&c, 2, "ready", &ready, &n_ready) ||
      (!is_missing(&c, 3) && !arg_int(&c, 3, "spinUs", 0, 1000000, &spin_us))) {
    return NULL;
  }
  if (n_ready < n) {
    throw_fmt(&c, true, "ready (%zu bytes) is shorter than fds (%zu)", n_ready, n);
    return NULL;
  }
  struct pollfd stack[POLL_STACK];
  struct pollfd *p = stack;
  if (n > POLL_STACK) {
    p = malloc(n * sizeof *p);
    if (!p) return throw_errno(&c, ENOMEM, "", "malloc");
  }
  for (size_t i = 0; i < n; i++) {
    p[i].fd = fds[i]; /* a negative fd is ignored by poll(2): a free slot */
    p[i].events = POLLIN;
    p[i].revents = 0;
  }
  if (timeout > 0 && spin_us > timeout * 1000) spin_us = timeout * 1000;
  int r = 0;
  if (spin_us > 0 && timeout != 0) {
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
      r = poll(p, (nfds_t)n, 0);
      if (r != 0) break;
      clock_gettime(CLOCK_MONOTONIC, &t1);
      if ((t1.tv_sec - t0.tv_sec) * 1000000LL + (t1.tv_nsec - t0.tv_nsec) / 1000 >= spin_us) break;
      sched_yield();
    }
  }
  if (r == 0) r = poll(p, (nfds_t)n, (int)timeout);
  int err = errno;
  int count = 0;
  for (size_t i = 0; i < n; i++) {
    short ev = r > 0 ? p[i].revents : 0;
    uint8_t f = (uint8_t)(((ev & POLLIN) ? MN_POLL_IN : 0) | ((ev & POLLERR) ? MN_POLL_ERR : 0) |
                          ((ev & POLLHUP) ? MN_POLL_HUP : 0) | ((ev & POLLNVAL) ? MN_POLL_NVAL : 0));
    ready[i] = f;
    if (f) count++;
  }
  if (p != stack) free(p);
  if (r < 0 && err != EINTR) return throw_errno(&c, err, "", "poll");
  return ret_int(&c, count);
}

/* readBatch(fd, slab, stride, headroom, max, sizes) -> count, or -errno if nothing was read */
static napi_value js_read_batch(napi_env env, napi_callback_info info) {
  call_t c;
  int fd;
  slots_t s;
  if (!start(&c, env, info, "readBatch") || !arg_fd(&c, 0, &fd) || !arg_slots(&c, &s)) return NULL;
  return ret_int(&c, mn_read_batch(fd, s.slab, s.stride, s.headroom, s.max, s.sizes));
}

/* writeBatch(fd, slab, offsets, lengths, count) -> packets written */
static napi_value js_write_batch(napi_env env, napi_callback_info info) {
  call_t c;
  int fd, count;
  packets_t p;
  if (!start(&c, env, info, "writeBatch") || !arg_fd(&c, 0, &fd) || !arg_packets(&c, 1, 4, &p, &count)) {
    return NULL;
  }
  return ret_int(&c, mn_write_batch(fd, p.slab, p.offsets, p.lengths, count));
}

/* udpOpen(addr, port, options?) -> fd. addr is an IP literal; "fe80::1%eth0" carries a scope (interface name or
 * index). options: { reusePort?: boolean } (SO_REUSEPORT: one socket of a workers' group). */
static napi_value js_udp_open(napi_env env, napi_callback_info info) {
  call_t c;
  napi_valuetype t;
  int64_t port;
  char addr[INET6_ADDRSTRLEN + IFNAMSIZ + 2];
  size_t len = 0;
  if (!start(&c, env, info, "udpOpen")) return NULL;
  if (napi_typeof(env, c.argv[0], &t) != napi_ok || t != napi_string) {
    throw_fmt(&c, false, "addr must be a string");
    return NULL;
  }
  napi_get_value_string_utf8(env, c.argv[0], addr, sizeof addr, &len);
  if (!arg_int(&c, 1, "port", 0, 65535, &port)) return NULL;

  union mn_sockaddr sa;
  memset(&sa, 0, sizeof sa);
  char host[sizeof addr];
  snprintf(host, sizeof host, "%s", addr);
  char *scope = strchr(host, '%');
  if (scope) *scope++ = '\0';
  int dual_stack = 0;
  if (inet_pton(AF_INET6, host, &sa.in6.sin6_addr) == 1) {
    sa.in6.sin6_family = AF_INET6;
    sa.in6.sin6_port = htons((uint16_t)port);
    dual_stack = IN6_IS_ADDR_UNSPECIFIED(&sa.in6.sin6_addr);
    if (scope) {
      char *end;
      unsigned long idx = strtoul(scope, &end, 10);
      if (*scope == '\0' || *end != '\0') idx = if_nametoindex(scope);
      if (idx == 0) {
        throw_fmt(&c, false, "unknown interface '%s' in addr '%s'", scope, addr);
        return NULL;
      }
      sa.in6.sin6_scope_id = (uint32_t)idx;
    }
  } else if (!scope && inet_pton(AF_INET, host, &sa.in.sin_addr) == 1) {
    sa.in.sin_family = AF_INET;
    sa.in.sin_port = htons((uint16_t)port);
  } else {
    throw_fmt(&c, false, "addr must be an IPv4 or IPv6 literal, got '%s'", addr);
    return NULL;
  }
  bool reuse_port = false;
  if (!is_missing(&c, 2)) {
    if (napi_typeof(env, c.argv[2], &t) != napi_ok || t != napi_object) {
      throw_fmt(&c, false, "options must be an object");
      return NULL;
    }
    if (!opt_bool(&c, c.argv[2], "reusePort", &reuse_port)) return NULL;
  }
  const char *syscall = "";
  int fd = mn_udp_open(&sa, dual_stack, reuse_port ? 1 : 0, &syscall);
  if (fd < 0) {
    char what[sizeof addr + 16];
    snprintf(what, sizeof what, sa.sa.sa_family == AF_INET6 ? "[%s]:%lld" : "%s:%lld", addr, (long long)port);
    return throw_errno(&c, -fd, what, syscall);
  }
  return ret_int(&c, fd);
}

/* udpLocalPort(fd) -> port */
static napi_value js_udp_local_port(napi_env env, napi_callback_info info) {
  call_t c;
  int fd;
  if (!start(&c, env, info, "udpLocalPort") || !arg_fd(&c, 0, &fd)) return NULL;
  int port = mn_udp_local_port(fd);
  if (port < 0) {
    char what[24];
    snprintf(what, sizeof what, "fd %d", fd);
    return throw_errno(&c, -port, what, "getsockname");
  }
  return ret_int(&c, port);
}

/* An Int32Array of at least `need` entries. */
static bool arg_i32s_min(call_t *c, int i, const char *name, size_t need, int32_t **data) {
  size_t len;
  if (!arg_i32s(c, i, name, data, &len)) return false;
  if (len < need) return throw_fmt(c, true, "%s (%zu entries) is shorter than %zu", name, len, need);
  return true;
}

/* A Uint8Array of at least `need` bytes that does not overlap [avoid, avoid+avoid_len). */
static bool arg_scratch(call_t *c, int i, size_t need, const uint8_t *avoid, size_t avoid_len, uint8_t **data) {
  size_t len;
  if (!arg_bytes(c, i, "scratch", data, &len)) return false;
  if (len < need) return throw_fmt(c, true, "scratch (%zu bytes) is smaller than %zu", len, need);
  if (*data < avoid + avoid_len && avoid < *data + need) return throw_fmt(c, true, "scratch overlaps the slab");
  return true;
}

/* tunReadSplit(fd, slab, stride, headroom, max, sizes, scratch, state, stats) -> count, or -errno */
static napi_value js_tun_read_split(napi_env env, napi_callback_info info) {
  call_t c;
  int fd;
  slots_t s;
  uint8_t *scratch;
  int32_t *state, *stats;
  if (!start(&c, env, info, "tunReadSplit") || !arg_fd(&c, 0, &fd) || !arg_slots(&c, &s) ||
      !arg_scratch(&c, 6, MN_TUN_SCRATCH, s.slab, (size_t)s.asked * s.stride, &scratch) ||
      !arg_i32s_min(&c, 7, "state", MN_TUN_STATE, &state) || !arg_i32s_min(&c, 8, "stats", MN_OS_STATS, &stats)) {
    return NULL;
  }
  if (state[0] < 0 || state[0] > MN_TUN_SCRATCH || state[1] < 0) {
    throw_fmt(&c, true, "state [%d, %d] is not one this function left", (int)state[0], (int)state[1]);
    return NULL;
  }
  return ret_int(&c, mn_tun_read_split(fd, scratch, MN_TUN_SCRATCH, state, s.slab, s.stride, s.headroom, s.max,
                                       s.sizes, stats));
}

/* recvBatchGro(fd, slab, stride, headroom, max, sizes, addrs, scratch, state, stats) -> count, or -errno */
static napi_value js_recv_batch_gro(napi_env env, napi_callback_info info) {
  call_t c;
  int fd;
  slots_t s;
  uint8_t *addrs, *scratch;
  size_t addrs_len;
  int32_t *state, *stats;
  if (!start(&c, env, info, "recvBatchGro") || !arg_fd(&c, 0, &fd) || !arg_slots(&c, &s) ||
      !arg_bytes(&c, 6, "addrs", &addrs, &addrs_len) ||
      !arg_scratch(&c, 7, MN_GRO_SCRATCH, s.slab, (size_t)s.asked * s.stride, &scratch) ||
      !arg_i32s_min(&c, 8, "state", MN_GRO_STATE, &state) || !arg_i32s_min(&c, 9, "stats", MN_OS_STATS, &stats)) {
    return NULL;
  }
  if ((uint64_t)s.asked * MN_ADDR_LEN > addrs_len) {
    throw_fmt(&c, true, "addrs (%zu bytes) is smaller than max * %d", addrs_len, MN_ADDR_LEN);
    return NULL;
  }
  bool ok = state[0] >= 0 && state[0] <= MN_GRO_MSGS && state[1] >= 0 && state[1] <= state[0] && state[2] >= 0;
  for (int m = 0; ok && m < state[0]; m++) {
    const int32_t len = state[3 + 2 * m], gso = state[4 + 2 * m];
    ok = len >= 0 && len <= MN_GRO_MSG_BYTES && gso >= 1 && gso <= (len > 0 ? len : 1) &&
         (m != state[1] || state[2] < (len > 0 ? len : 1));
  }
  if (!ok) {
    throw_fmt(&c, true, "state is not one this function left");
    return NULL;
  }
  return ret_int(&c, mn_udp_recv_gro(fd, scratch, state, s.slab, s.stride, s.headroom, s.max, s.sizes, addrs, stats));
}

/* sendBatchGso(fd, slab, offsets, lengths, addrs, count, stats, flowOffset?) -> datagrams sent; flowOffset: see
 * mn_udp_send_gso (-1 or absent: runs are not cut by inner flow) */
static napi_value js_send_batch_gso(napi_env env, napi_callback_info info) {
  call_t c;
  int fd, count;
  packets_t p;
  uint8_t *addrs;
  size_t addrs_len;
  int32_t *stats;
  if (!start(&c, env, info, "sendBatchGso") || !arg_fd(&c, 0, &fd) || !arg_packets(&c, 1, 5, &p, &count) ||
      !arg_bytes(&c, 4, "addrs", &addrs, &addrs_len) || !arg_i32s_min(&c, 6, "stats", MN_OS_STATS, &stats)) {
    return NULL;
  }
  if ((uint64_t)count * MN_ADDR_LEN > addrs_len) {
    throw_fmt(&c, true, "addrs (%zu bytes) is smaller than count * %d", addrs_len, MN_ADDR_LEN);
    return NULL;
  }
  int64_t flow_offset = -1;
  if (!is_missing(&c, 7) && !arg_int(&c, 7, "flowOffset", -1, 4096, &flow_offset)) return NULL;
  return ret_int(&c, mn_udp_send_gso(fd, p.slab, p.offsets, p.lengths, addrs, count, stats, (int)flow_offset));
}

/* udpSteer(fd, offset, n): steer fd's SO_REUSEPORT group by the inner flow at `offset` in the UDP payload. */
static napi_value js_udp_steer(napi_env env, napi_callback_info info) {
  call_t c;
  int fd;
  int64_t offset, n;
  if (!start(&c, env, info, "udpSteer") || !arg_fd(&c, 0, &fd) || !arg_int(&c, 1, "offset", 0, 4096, &offset) ||
      !arg_int(&c, 2, "n", 1, 64, &n))
    return NULL;
  const int r = mn_udp_steer(fd, (int)offset, (int)n);
  if (r < 0) {
    char what[24];
    snprintf(what, sizeof what, "fd %d", fd);
    return throw_errno(&c, -r, what, "setsockopt(SO_ATTACH_REUSEPORT_CBPF)");
  }
  napi_value out;
  napi_get_undefined(env, &out);
  return out;
}

/* udpSetGro(fd, on) -> true when the socket now does what was asked (false: the kernel has no UDP_GRO) */
static napi_value js_udp_set_gro(napi_env env, napi_callback_info info) {
  call_t c;
  int fd;
  bool on;
  if (!start(&c, env, info, "udpSetGro") || !arg_fd(&c, 0, &fd)) return NULL;
  if (napi_get_value_bool(env, c.argv[1], &on) != napi_ok) {
    throw_fmt(&c, false, "on must be a boolean");
    return NULL;
  }
  const int r = mn_udp_set_gro(fd, on ? 1 : 0);
  if (r == -EBADF || r == -ENOTSOCK) {
    char what[24];
    snprintf(what, sizeof what, "fd %d", fd);
    return throw_errno(&c, -r, what, "setsockopt(UDP_GRO)");
  }
  napi_value out;
  napi_get_boolean(env, r == 0, &out);
  return out;
}

/* recvBatch(fd, slab, stride, headroom, max, sizes, addrs) -> count, or -errno if nothing was received */
static napi_value js_recv_batch(napi_env env, napi_callback_info info) {
  call_t c;
  int fd;
  slots_t s;
  uint8_t *addrs;
  size_t addrs_len;
  if (!start(&c, env, info, "recvBatch") || !arg_fd(&c, 0, &fd) || !arg_slots(&c, &s) ||
      !arg_bytes(&c, 6, "addrs", &addrs, &addrs_len)) {
    return NULL;
  }
  if ((uint64_t)s.asked * MN_ADDR_LEN > addrs_len) {
    throw_fmt(&c, true, "addrs (%zu bytes) is smaller than max * %d", addrs_len, MN_ADDR_LEN);
    return NULL;
  }
  return ret_int(&c, mn_recv_batch(fd, s.slab, s.stride, s.headroom, s.max, s.sizes, addrs));
}

/* sendBatch(fd, slab, offsets, lengths, addrs, count) -> datagrams sent */
static napi_value js_send_batch(napi_env env, napi_callback_info info) {
  call_t c;
  int fd, count;
  packets_t p;
  uint8_t *addrs;
  size_t addrs_len;
  if (!start(&c, env, info, "sendBatch") || !arg_fd(&c, 0, &fd) || !arg_packets(&c, 1, 5, &p, &count) ||
      !arg_bytes(&c, 4, "addrs", &addrs, &addrs_len)) {
    return NULL;
  }
  if ((uint64_t)count * MN_ADDR_LEN > addrs_len) {
    throw_fmt(&c, true, "addrs (%zu bytes) is smaller than count * %d", addrs_len, MN_ADDR_LEN);
    return NULL;
  }
  return ret_int(&c, mn_send_batch(fd, p.slab, p.offsets, p.lengths, addrs, count));
}

/* setThreadPriority(nice): the calling thread's nice value (-20..19). Linux schedules threads one by one,
 * so the daemon can favour its control-plane thread over its forwarding worker and over bulk traffic.
 * Elsewhere (macOS) it sets the whole process's. */
static napi_value js_set_thread_priority(napi_env env, napi_callback_info info) {
  call_t c;
  int64_t nice_value;
  if (!start(&c, env, info, "setThreadPriority") || !arg_int(&c, 0, "nice", -20, 19, &nice_value)) return NULL;
#ifdef __linux__
  id_t who = (id_t)syscall(SYS_gettid);
#else
  id_t who = 0;
#endif
  if (setpriority(PRIO_PROCESS, who, (int)nice_value) < 0) return throw_errno(&c, errno, "", "setpriority");
  return NULL;
}

/* setSocketBuffers(pid, fd, bytes): the receive and send buffers of another process's socket (Linux 5.6+,
 * root). wireguard-go before 2023 leaves its UDP socket at the system default (208 KiB), which a burst
 * of full-size packets overruns; newer releases raise it themselves with SO_RCVBUFFORCE. The socket is
 * shared between its descriptors, so setting it through a duplicate (pidfd_getfd) sets it for the owner. */
static napi_value js_set_socket_buffers(napi_env env, napi_callback_info info) {
  call_t c;
  int64_t pid, fd, bytes;
  if (!start(&c, env, info, "setSocketBuffers") || !arg_int(&c, 0, "pid", 1, INT32_MAX, &pid) || !arg_int(&c, 1, "fd", 0, INT32_MAX, &fd) ||
      !arg_int(&c, 2, "bytes", 4096, 1 << 30, &bytes))
    return NULL;
#if defined(__linux__) && defined(SYS_pidfd_open) && defined(SYS_pidfd_getfd)
  int pidfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
  if (pidfd < 0) return throw_errno(&c, errno, "", "pidfd_open");
  int dup = (int)syscall(SYS_pidfd_getfd, pidfd, (int)fd, 0);
  int err = dup < 0 ? errno : 0;
  close(pidfd);
  if (dup < 0) return throw_errno(&c, err, "", "pidfd_getfd");
  int size = (int)bytes;
  const char *failed = NULL;
  if (setsockopt(dup, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0) failed = "setsockopt(SO_RCVBUFFORCE)";
  else if (setsockopt(dup, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) < 0) failed = "setsockopt(SO_SNDBUFFORCE)";
  err = errno;
  close(dup);
  if (failed) return throw_errno(&c, err, "", failed);
  return NULL;
#else
  (void)pid; (void)fd; (void)bytes;
  return throw_errno(&c, ENOSYS, "", "pidfd_getfd");
#endif
}

NAPI_MODULE_INIT() {
  static const struct {
    const char *name;
    napi_callback cb;
  } fns[] = {
      {"tunOpen", mn_js_tun_open},    {"close", js_close},
      {"pollIn", js_poll_in},         {"readBatch", js_read_batch},
      {"writeBatch", js_write_batch}, {"udpOpen", js_udp_open},
      {"udpLocalPort", js_udp_local_port}, {"recvBatch", js_recv_batch},
      {"sendBatch", js_send_batch},   {"setThreadPriority", js_set_thread_priority},
      {"setSocketBuffers", js_set_socket_buffers},
      {"checksum", mn_js_checksum},   {"gsoSplit", mn_js_gso_split},
      {"groCoalesce", mn_js_gro_coalesce}, {"tunReadSplit", js_tun_read_split},
      {"recvBatchGro", js_recv_batch_gro}, {"sendBatchGso", js_send_batch_gso},
      {"udpSetGro", js_udp_set_gro},  {"udpSteer", js_udp_steer},
  };
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value f;
    if (napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].cb, NULL, &f) != napi_ok ||
        napi_set_named_property(env, exports, fns[i].name, f) != napi_ok) {
      return NULL;
    }
  }
  return exports;
}
