/*
 * macOS utun: a PF_SYSTEM kernel-control socket connected to com.apple.net.utun_control. Unit N+1 asks for
 * utunN, unit 0 for the next free one. Every packet carries a 4-byte address family in network order in
 * front (AF_INET or AF_INET6); fdio.c strips it on read and adds it on write, found by mn_tun_header().
 *
 * The offload option (IFF_VNET_HDR on Linux) is unsupported here: the result says so and the device opens plain.
 *
 * Compiled only on macOS (binding.gyp) and not exercised by the Linux test suite: kept as small as possible.
 */
#include "moltnet.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/kern_control.h>
#include <sys/sys_domain.h>
#include <unistd.h>
#if __has_include(<net/if_utun.h>)
#include <net/if_utun.h>
#else /* older SDKs do not ship the header; the values are part of the kernel ABI */
#define UTUN_CONTROL_NAME "com.apple.net.utun_control"
#define UTUN_OPT_IFNAME 2
#endif

int mn_tun_open(const char *name, char *out_name, size_t out_len, mn_tun_offload *offload, const char **syscall) {
  unsigned long unit = 0;
  /* utun has no virtio-net header and no offloads: report both as not granted, open as usual. */
  offload->vnet_hdr = 0;
  offload->offloads = 0;
  if (offload->multi_queue) {
    /* utun has one queue: a second open of utunN is EBUSY. The daemon runs one worker here. */
    *syscall = "open(utun multi-queue)";
    return -EOPNOTSUPP;
  }
  if (name[0] != '\0') {
    char *end = NULL;
    /* Only utunN can be asked for; "utun" alone means any free unit. */
    if (strncmp(name, "utun", 4) != 0) {
      *syscall = "utun name";
      return -EINVAL;
    }
    if (name[4] != '\0') {
      unit = strtoul(name + 4, &end, 10) + 1;
      if (*end != '\0') {
        *syscall = "utun name";
        return -EINVAL;
      }
    }
  }
  int fd = socket(PF_SYSTEM, SOCK_DGRAM, SYSPROTO_CONTROL);
  if (fd < 0) {
    *syscall = "socket(PF_SYSTEM)";
    return -errno;
  }
  struct ctl_info info;
  memset(&info, 0, sizeof info);
  strlcpy(info.ctl_name, UTUN_CONTROL_NAME, sizeof info.ctl_name);
  struct sockaddr_ctl sc;
  memset(&sc, 0, sizeof sc);
  socklen_t len = (socklen_t)out_len;
  int err = 0;
  if (ioctl(fd, CTLIOCGINFO, &info) < 0) {
    *syscall = "ioctl(CTLIOCGINFO)";
    err = errno;
  } else {
    sc.sc_len = sizeof sc;
    sc.sc_family = AF_SYSTEM;
    sc.ss_sysaddr = AF_SYS_CONTROL;
    sc.sc_id = info.ctl_id;
    sc.sc_unit = (uint32_t)unit;
    if (connect(fd, (struct sockaddr *)&sc, sizeof sc) < 0) {
      *syscall = "connect(utun)";
      err = errno;
    } else if (getsockopt(fd, SYSPROTO_CONTROL, UTUN_OPT_IFNAME, out_name, &len) < 0) {
      *syscall = "getsockopt(UTUN_OPT_IFNAME)";
      err = errno;
    } else if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
      *syscall = "fcntl";
      err = errno;
    }
  }
  if (err) {
    close(fd);
    return -err;
  }
  return fd;
}

int mn_tun_header(int fd) {
  /* Kernel-control sockets have no getsockname() but report their peer as an AF_SYSTEM address. One
   * syscall per batch, no state to keep in step with close(). */
  union {
    struct sockaddr sa;
    struct sockaddr_ctl ctl;
  } peer;
  socklen_t len = sizeof peer;
  if (getpeername(fd, &peer.sa, &len) == 0 && peer.sa.sa_family == AF_SYSTEM) return 4;
  return 0;
}
