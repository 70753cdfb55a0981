/*
 * Linux TUN (Documentation/networking/tuntap.rst): open the clone device, attach it to an interface with
 * TUNSETIFF. IFF_TUN gives layer-3 packets; IFF_NO_PI drops the 4-byte flags/protocol prefix, so a read
 * returns exactly one IP packet and a write takes one (the kernel reads the version nibble).
 *
 * With the offload option, IFF_VNET_HDR puts a 10-byte virtio_net_hdr (offload.c) in front of every packet
 * both ways, and TUNSETOFFLOAD tells the kernel what it may hand us unfinished: TUN_F_CSUM (checksums left
 * partial), TUN_F_TSO4/6 (TCP superpackets up to 64 KiB), TUN_F_USO4/6 (UDP ones, Linux 6.2+).
 *
 * IFF_MULTI_QUEUE: every open of one name attaches another queue to the same device, one per forwarding
 * worker; the kernel sends a host flow to the queue that last wrote that flow's packets (tun's flow table),
 * else by its hash, so both directions of a connection meet on one worker.
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

/* TUNSETOFFLOAD refuses a mask with any bit it does not know (EINVAL, "a way to test for new features"), and
 * takes TSO only with CSUM: try what was asked, then without USO (pre-6.2 kernels), without TSO, CSUM only,
 * then nothing. Returns the mask the kernel took. */
static unsigned set_offload(int fd, unsigned want) {
  const unsigned tries[] = {
      want,
      want & ~(unsigned)(MN_TUN_F_USO4 | MN_TUN_F_USO6),
      want & ~(unsigned)(MN_TUN_F_USO4 | MN_TUN_F_USO6 | MN_TUN_F_TSO_ECN),
      want & MN_TUN_F_CSUM,
  };
  for (size_t i = 0; i < sizeof tries / sizeof tries[0]; i++) {
    if (i > 0 && tries[i] == tries[i - 1]) continue;
    /* TSO/USO without CSUM is refused; asking that is asking for nothing. */
    if (tries[i] && !(tries[i] & MN_TUN_F_CSUM)) continue;
    if (tries[i] && ioctl(fd, TUNSETOFFLOAD, (unsigned long)tries[i]) == 0) return tries[i];
  }
  ioctl(fd, TUNSETOFFLOAD, 0UL);
  return 0;
}

int mn_tun_open(const char *name, char *out_name, size_t out_len, mn_tun_offload *offload, const char **syscall) {
  /* O_NONBLOCK: the forwarder drains with read() until EAGAIN and waits in poll(), never in read(). */
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    *syscall = "open(/dev/net/tun)";
    return -errno;
  }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (offload->vnet_hdr ? IFF_VNET_HDR : 0) | (offload->multi_queue ? IFF_MULTI_QUEUE : 0);
  /* An empty name lets the kernel pick tun%d; the name it chose comes back in ifr_name. */
  strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int err = errno;
    close(fd);
    *syscall = "ioctl(TUNSETIFF)";
    return -err;
  }
  /* The default header size is sizeof(struct virtio_net_hdr), 10: the layout offload.c reads. */
  offload->offloads = offload->vnet_hdr ? set_offload(fd, offload->offloads) : 0;
  snprintf(out_name, out_len, "%.*s", IFNAMSIZ - 1, ifr.ifr_name);
  return fd;
}

int mn_tun_header(int fd) {
  (void)fd;
  return 0; /* IFF_NO_PI; a virtio_net_hdr is the caller's (gsoSplit reads it) */
}
