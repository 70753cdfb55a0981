/*
 * N-API glue for offload.c and for tunOpen's offload option (contract: src/dataplane/io/native.ts).
 *
 * Same conventions as moltnet.c: bad arguments (the caller's bug: a view outside its Buffer, arrays too short)
 * throw TypeError/RangeError before any byte is touched; bad packets (untrusted input) never throw, they come
 * back as a negative MN_OFF_E* code or in the coalescer's counters. The argument helpers are napi_call.h's.
 */
#include "moltnet.h"
#include "napi_call.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <net/if.h>

#include <node_api.h>
#include <uv.h>

#define TUN_F_KNOWN (MN_TUN_F_CSUM | MN_TUN_F_TSO4 | MN_TUN_F_TSO6 | MN_TUN_F_TSO_ECN | MN_TUN_F_USO4 | MN_TUN_F_USO6)
/* What `{ vnetHdr: true }` asks for when offloads is not given: all but TSO_ECN, as wireguard-go asks. Without
 * TSO_ECN the kernel segments CWR-marked bursts itself, which keeps ECN exact at no cost worth having. */
#define TUN_F_DEFAULT (MN_TUN_F_CSUM | MN_TUN_F_TSO4 | MN_TUN_F_TSO6 | MN_TUN_F_USO4 | MN_TUN_F_USO6)

/* [a, a+alen) and [b, b+blen) share a byte: memcpy between them would be undefined. */
static bool overlaps(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen) {
  return alen && blen && a < b + blen && b < a + alen;
}

/* tunOpen(name, options?) -> { fd, name, vnetHdr, offloads }
 * options: { vnetHdr?: boolean, offloads?: number (TUN_F_* mask), multiQueue?: boolean }; absent: the plain TUN
 * of before. */
napi_value mn_js_tun_open(napi_env env, napi_callback_info info) {
  call_t c;
  if (!start(&c, env, info, "tunOpen")) return NULL;
  napi_valuetype t;
  size_t len = 0;
  char name[IFNAMSIZ];
  if (napi_typeof(env, c.argv[0], &t) != napi_ok || t != napi_string) {
    throw_fmt(&c, false, "name must be a string");
    return NULL;
  }
  napi_get_value_string_utf8(env, c.argv[0], NULL, 0, &len);
  if (len >= IFNAMSIZ) {
    throw_fmt(&c, true, "name must be at most %d bytes, got %zu", IFNAMSIZ - 1, len);
    return NULL;
  }
  napi_get_value_string_utf8(env, c.argv[0], name, sizeof name, &len);
  if (strlen(name) != len) {
    throw_fmt(&c, false, "name must not contain NUL");
    return NULL;
  }
  mn_tun_offload off = {0, 0, 0};
  if (!is_missing(&c, 1)) {
    if (napi_typeof(env, c.argv[1], &t) != napi_ok || t != napi_object) {
      throw_fmt(&c, false, "options must be an object");
      return NULL;
    }
    bool vnet_hdr = false, multi_queue = false;
    if (!opt_bool(&c, c.argv[1], "vnetHdr", &vnet_hdr) || !opt_bool(&c, c.argv[1], "multiQueue", &multi_queue)) return NULL;
    off.vnet_hdr = vnet_hdr;
    off.multi_queue = multi_queue;
    napi_value v;
    bool has = false;
    off.offloads = TUN_F_DEFAULT;
    if (napi_has_named_property(env, c.argv[1], "offloads", &has) == napi_ok && has &&
        napi_get_named_property(env, c.argv[1], "offloads", &v) == napi_ok &&
        napi_typeof(env, v, &t) == napi_ok && t != napi_undefined) {
      int64_t mask;
      if (!get_int(&c, v, "options.offloads", 0, 0xff, &mask)) return NULL;
      if (mask & ~(int64_t)TUN_F_KNOWN) {
        throw_fmt(&c, true, "options.offloads has unknown bits 0x%llx", (long long)(mask & ~(int64_t)TUN_F_KNOWN));
        return NULL;
      }
      off.offloads = (unsigned)mask;
    }
    if (!off.vnet_hdr) off.offloads = 0;
  }
  char actual[IFNAMSIZ + 1] = {0};
  const char *syscall = "";
  int fd = mn_tun_open(name, actual, sizeof actual, &off, &syscall);
  if (fd < 0) return throw_errno(&c, -fd, name[0] ? name : "(any)", syscall);
  napi_value out, fd_value, name_value, vnet_value, off_value;
  napi_create_object(env, &out);
  napi_create_int32(env, fd, &fd_value);
  napi_create_string_utf8(env, actual, NAPI_AUTO_LENGTH, &name_value);
  napi_get_boolean(env, off.vnet_hdr != 0, &vnet_value);
  napi_create_uint32(env, off.offloads, &off_value);
  napi_set_named_property(env, out, "fd", fd_value);
  napi_set_named_property(env, out, "name", name_value);
  napi_set_named_property(env, out, "vnetHdr", vnet_value);
  napi_set_named_property(env, out, "offloads", off_value);
  return out;
}

/* checksum(buf, off, len, initial?) -> the Internet checksum of buf[off .. off+len) with `initial` (a 16- or
 * 32-bit partial sum, e.g. a pseudo-header's) added in. */
napi_value mn_js_checksum(napi_env env, napi_callback_info info) {
  call_t c;
  uint8_t *buf;
  size_t buf_len;
  int64_t off, len, initial = 0;
  if (!start(&c, env, info, "checksum") || !arg_bytes(&c, 0, "buf", &buf, &buf_len) ||
      !arg_int(&c, 1, "off", 0, (int64_t)buf_len, &off) || !arg_int(&c, 2, "len", 0, (int64_t)buf_len - off, &len) ||
      (!is_missing(&c, 3) && !arg_int(&c, 3, "initial", 0, UINT32_MAX, &initial))) {
    return NULL;
  }
  return ret_int(&c, mn_checksum(buf + off, (size_t)len, (uint32_t)initial));
}

/* gsoSplit(pkt, off, len, out, outOff, stride, max, sizes) -> segments, or MN_OFF_E* (< 0) */
napi_value mn_js_gso_split(napi_env env, napi_callback_info info) {
  call_t c;
  uint8_t *pkt, *out;
  size_t pkt_len, out_len, sizes_len;
  int32_t *sizes;
  int64_t off, len, out_off, stride, max;
  if (!start(&c, env, info, "gsoSplit") || !arg_bytes(&c, 0, "pkt", &pkt, &pkt_len) ||
      !arg_int(&c, 1, "off", 0, (int64_t)pkt_len, &off) || !arg_int(&c, 2, "len", 0, (int64_t)pkt_len - off, &len) ||
      !arg_bytes(&c, 3, "out", &out, &out_len) || !arg_int(&c, 4, "outOff", 0, (int64_t)out_len, &out_off) ||
      !arg_int(&c, 5, "stride", 1, INT32_MAX, &stride) || !arg_int(&c, 6, "max", 0, 65535, &max) ||
      !arg_i32s(&c, 7, "sizes", &sizes, &sizes_len)) {
    return NULL;
  }
  if ((uint64_t)out_off + (uint64_t)max * (uint64_t)stride > out_len) {
    throw_fmt(&c, true, "out (%zu bytes) is smaller than outOff + max * stride (%lld + %lld * %lld)", out_len,
              (long long)out_off, (long long)max, (long long)stride);
    return NULL;
  }
  if ((uint64_t)max > sizes_len) {
    throw_fmt(&c, true, "sizes (%zu entries) is shorter than max (%lld)", sizes_len, (long long)max);
    return NULL;
  }
  if (overlaps(pkt + off, (size_t)len, out + out_off, (size_t)(max * stride))) {
    throw_fmt(&c, true, "the packet and the output slots overlap");
    return NULL;
  }
  return ret_int(&c, mn_gso_split(pkt + off, (size_t)len, out + out_off, (size_t)stride, (int)max, sizes));
}

/* groCoalesce(src, offsets, lengths, count, dst, dstOff, outOffsets, outLengths, stats?) -> packets out */
napi_value mn_js_gro_coalesce(napi_env env, napi_callback_info info) {
  call_t c;
  uint8_t *src, *dst;
  int32_t *offsets, *lengths, *out_offsets, *out_lengths, *stats = NULL;
  size_t src_len, n_off, n_len, dst_len, n_oo, n_ol, n_stats = 0;
  int64_t count, dst_off;
  if (!start(&c, env, info, "groCoalesce") || !arg_bytes(&c, 0, "src", &src, &src_len) ||
      !arg_i32s(&c, 1, "offsets", &offsets, &n_off) || !arg_i32s(&c, 2, "lengths", &lengths, &n_len) ||
      !arg_int(&c, 3, "count", 0, INT32_MAX, &count) || !arg_bytes(&c, 4, "dst", &dst, &dst_len) ||
      !arg_int(&c, 5, "dstOff", 0, (int64_t)dst_len, &dst_off) || !arg_i32s(&c, 6, "outOffsets", &out_offsets, &n_oo) ||
      !arg_i32s(&c, 7, "outLengths", &out_lengths, &n_ol) ||
      (!is_missing(&c, 8) && !arg_i32s(&c, 8, "stats", &stats, &n_stats))) {
    return NULL;
  }
  if ((uint64_t)count > n_off || (uint64_t)count > n_len || (uint64_t)count > n_oo || (uint64_t)count > n_ol) {
    throw_fmt(&c, true, "count (%lld) exceeds offsets, lengths, outOffsets or outLengths", (long long)count);
    return NULL;
  }
  if (stats && n_stats < MN_GRO_STATS) {
    throw_fmt(&c, true, "stats (%zu entries) is shorter than %d", n_stats, MN_GRO_STATS);
    return NULL;
  }
  uint64_t need = 0;
  for (int64_t i = 0; i < count; i++) {
    int64_t o = offsets[i], l = lengths[i];
    if (o < 0 || l < 0 || (uint64_t)(o + l) > src_len) {
      throw_fmt(&c, true, "packet %lld (offset %lld, length %lld) is outside src (%zu bytes)", (long long)i,
                (long long)o, (long long)l, src_len);
      return NULL;
    }
    need += (uint64_t)l + MN_VNET_HDR_LEN;
  }
  /* Output never exceeds its input plus one header per packet (merging only removes headers). */
  if ((uint64_t)dst_off + need > dst_len || (uint64_t)dst_off + need > INT32_MAX) {
    throw_fmt(&c, true, "dst (%zu bytes from %lld) is smaller than the lengths plus %d per packet (%llu)", dst_len,
              (long long)dst_off, MN_VNET_HDR_LEN, (unsigned long long)need);
    return NULL;
  }
  if (overlaps(src, src_len, dst + dst_off, (size_t)need)) {
    throw_fmt(&c, true, "src and the output region of dst overlap");
    return NULL;
  }
  return ret_int(&c, mn_gro_coalesce(src, offsets, lengths, (int)count, dst, (size_t)dst_off, out_offsets,
                                     out_lengths, stats));
}
