/*
 * Linux TUN (Documentation/networking/tuntap.rst): open the clone device, attach it to an interface with
 * TUNSETIFF. IFF_TUN gives layer-3 packets; IFF_NO_PI drops the 4-byte flags/protocol prefix, so a read
 * returns exactly one IP packet and a write takes one (the kernel reads the version nibble).
 */
#include "moltnet.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/if_tun.h>

int mn_tun_open(const char *name, char *out_name, size_t out_len, const char **syscall) {
  /* O_NONBLOCK: the forwarder drains with read() until EAGAIN and waits in poll(), never in read(). */
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    *syscall = "open(/dev/net/tun)";
    return -errno;
  }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  /* An empty name lets the kernel pick tun%d; the name it chose comes back in ifr_name. */
  strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int err = errno;
    close(fd);
    *syscall = "ioctl(TUNSETIFF)";
    return -err;
  }
  snprintf(out_name, out_len, "%.*s", IFNAMSIZ - 1, ifr.ifr_name);
  return fd;
}

int mn_tun_header(int fd) {
  (void)fd;
  return 0; /* IFF_NO_PI */
}
