/**
 * Names and addresses of a node's WireGuard interface.
 *
 * The interface name comes from a hash of the node's UUID, not from its digits: UUIDs handed out in
 * patterns (…0001, …0002) differ only in digits a prefix or suffix would cut, and the name must be
 * unique host-wide (the UAPI socket directory is shared by every namespace). 'mwg' + 12 hex digits is
 * 15 bytes, the kernel's limit.
 *
 * The overlay address, the node's address on that interface, is fd6d:6f6c:7767::/48 ("mowg") plus the
 * last 80 bits of its mesh address (all of it that comes from the UUID), so two nodes have the same
 * overlay address only if they have the same mesh address. It is outside the mesh prefix, so mesh
 * routes never point into WireGuard and the VXLAN packets inside it go to an address only WireGuard routes.
 */
import { createHash } from 'node:crypto';
import { formatIpv6, normalizeUuid } from '../../common/address.js';
import { InvalidInputError } from '../../common/errors.js';

export const WG_OVERLAY_PREFIX = 'fd6d:6f6c:7767::/48';
const OVERLAY_PREFIX_BYTES = Buffer.from('fd6d6f6c7767', 'hex');

export function wireguardInterfaceName(uuid: string): string {
  return `mwg${createHash('sha256').update(normalizeUuid(uuid)).digest('hex').slice(0, 12)}`;
}

/** RFC 5952 text of the node's overlay address, from its 16-byte mesh address. */
export function overlayAddress(meshAddress: Uint8Array): string {
  if (meshAddress.length !== 16) throw new InvalidInputError(`a mesh address is 16 bytes, got ${meshAddress.length}`);
  return formatIpv6(Buffer.concat([OVERLAY_PREFIX_BYTES, meshAddress.subarray(6)]));
}
