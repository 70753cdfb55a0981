import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { meshAddressBytes, parseIpv6 } from '../../src/common/address.js';
import { InvalidInputError } from '../../src/common/errors.js';
import { WG_OVERLAY_PREFIX, overlayAddress, wireguardInterfaceName } from '../../src/transport/wireguard/naming.js';

describe('WireGuard interface names', () => {
  it('mwg + 12 hex digits (15 bytes), the same for every spelling of one UUID', () => {
    const name = wireguardInterfaceName('daa46e88-46c5-4af7-9268-1482c54c1922');
    assert.match(name, /^mwg[0-9a-f]{12}$/);
    assert.equal(Buffer.byteLength(name), 15);
    assert.equal(wireguardInterfaceName('DAA46E8846C54AF792681482C54C1922'), name);
    assert.throws(() => wireguardInterfaceName('not-a-uuid'), InvalidInputError);
  });

  it('UUIDs handed out in patterns get distinct names', () => {
    const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');
    const uuids = new Set<string>();
    for (let i = 0; i < 3000; i++) {
      uuids.add(`00000000-0000-0000-0000-${hex(i, 12)}`);
      uuids.add(`${hex(i, 8)}-0000-4000-8000-000000000000`);
      uuids.add(`daa46e88-46c5-4af7-${hex(i, 4)}-1482c54c1922`);
    }
    const names = new Set([...uuids].map(wireguardInterfaceName));
    assert.equal(names.size, uuids.size);
  });
});

describe('WireGuard overlay address', () => {
  it('fd6d:6f6c:7767::/48 + the last 80 bits of the mesh address, RFC 5952 text', () => {
    assert.equal(WG_OVERLAY_PREFIX, 'fd6d:6f6c:7767::/48');
    assert.equal(overlayAddress(meshAddressBytes('daa46e88-46c5-4af7-9268-1482c54c1922')), 'fd6d:6f6c:7767:daa4:6e88:46c5:4af7:9268');
    assert.equal(overlayAddress(meshAddressBytes('fd00:6d6f:6c74:1::1')), 'fd6d:6f6c:7767:1::1');
    assert.equal(overlayAddress(meshAddressBytes('fd00:6d6f:6c74:1::')), 'fd6d:6f6c:7767:1::');
    // UUIDs that differ only in their first four digits get different overlay addresses.
    assert.notEqual(overlayAddress(meshAddressBytes('daa46e88-46c5-4af7-9268-1482c54c1922')), overlayAddress(meshAddressBytes('00006e88-46c5-4af7-9268-1482c54c1922')));
  });

  it('is inside the overlay prefix, and refuses anything but 16 bytes', () => {
    const a = parseIpv6(overlayAddress(meshAddressBytes('88833763-60b7-47db-8703-349c6b2c70ff')))!;
    assert.deepEqual(a.subarray(0, 6), parseIpv6('fd6d:6f6c:7767::')!.subarray(0, 6));
    assert.throws(() => overlayAddress(Buffer.alloc(4)), InvalidInputError);
  });
});
