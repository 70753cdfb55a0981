/**
 * The registry's verdicts on signed records made with real keys: verification, newest wins (which ends
 * the flood), pins, names (first verified wins), expiry and the bound.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { MeshRegistry, REGISTRY_TAG } from '../../src/controlplane/peering/registry.js';
import { signBinding } from '../../src/controlplane/peering/handshake.js';
import { encodeRegistryInfo, type RegistryRecord } from '../../src/controlplane/peering/messages.js';
import { meshAddressBytes } from '../../src/common/address.js';

const U1 = 'daa46e88-46c5-4af7-9268-1482c54c1922';
const U2 = 'f8a9ce03-f512-4311-8792-519109168903';
const T = 1_800_000_000_000;

function node(uuid: string) {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const der = publicKey.export({ format: 'der', type: 'spki' });
  const signer = (d: Uint8Array) => sign(null, d, privateKey);
  return {
    moltid: `MOLTID:0x${der.toString('hex')}`,
    async record(name: string, ts: number, over: { address?: string; badInfoSig?: boolean } = {}): Promise<RegistryRecord> {
      const binding = await signBinding(
        { uuid, meshAddress: meshAddressBytes(over.address ?? uuid), moltidKey: der, endpoint: '[fdff::1]:4789', linkKinds: ['vxlan'], timestampMs: ts },
        async (d) => signer(d),
      );
      const info = encodeRegistryInfo({ name, capabilities: ['vxlan'], services: ['rpc', 'dns'], version: '0.1.0', timestampMs: ts });
      return { binding, info, infoSignature: over.badInfoSig ? Buffer.alloc(64, 1) : signer(Buffer.concat([REGISTRY_TAG, info])) };
    },
  };
}

const opts = { maxRecords: 2, maxAgeMs: 300_000, skewMs: 60_000 };

test('a verified record is new once; the same or an older one is old (the flood stops there); a newer one replaces it', async () => {
  const r = new MeshRegistry(opts);
  const a = node(U1);
  const first = await a.record('agenticmesh', T);
  const v = r.accept(first, T, new Map());
  assert.equal(v.status, 'new');
  assert.equal(v.status === 'new' && v.entry.address, 'fd00:6d6f:6c74:daa4:6e88:46c5:4af7:9268');
  assert.equal(r.accept(first, T, new Map()).status, 'old');
  assert.equal(r.accept(await a.record('agenticmesh', T - 1000), T, new Map()).status, 'old');
  assert.equal(r.accept(await a.record('renamed', T + 1000), T + 1000, new Map()).status, 'new');
  assert.equal(r.get(U1)!.info.name, 'renamed');
});

test('refused: bad signatures, an address that does not derive, another key than the pinned one, future, expired, bad names, full', async () => {
  const r = new MeshRegistry(opts);
  const a = node(U1);
  const why = async (rec: Promise<RegistryRecord>, now = T, pins = new Map<string, string>()) => {
    const v = r.accept(await rec, now, pins);
    return v.status === 'refused' ? v.reason : v.status;
  };
  assert.match(await why(a.record('x', T, { badInfoSig: true })), /info signature does not verify/);
  assert.match(await why(a.record('x', T, { address: U2 })), /does not derive from uuid/);
  assert.match(await why(a.record('x', T), T, new Map([[U1, node(U1).moltid]])), /another MoltID than the one pinned/);
  assert.equal(await why(a.record('x', T), T, new Map([[U1, a.moltid]])), 'new');
  assert.match(await why(a.record('x', T + 120_000)), /in the future/);
  assert.match(await why(a.record('x', T), T + 400_000), /expired/);
  assert.match(await why(a.record('Not_A_Label', T + 1)), /not a DNS label/);
  // The same uuid with another key later (no pin): refused, the first key stays.
  assert.match(await why(node(U1).record('x', T + 5)), /another MoltID than its earlier records/);
  await why(node(U2).record('carlotta', T));
  assert.match(await why(node('88833763-60b7-47db-8703-349c6b2c70ff').record('clawdboy', T)), /full \(2 nodes\)/);
});

test('names: the first verified record keeps its name, the conflict is noted; expiry frees it', async () => {
  const r = new MeshRegistry({ ...opts, maxRecords: 10 });
  r.accept(await node(U1).record('carlotta', T), T, new Map());
  r.accept(await node(U2).record('carlotta', T + 10), T + 10, new Map());
  assert.equal(r.ownsName(r.get(U1)!), true);
  assert.equal(r.ownsName(r.get(U2)!), false);
  assert.deepEqual(r.conflicts, [`carlotta.molt: kept ${U1}, ignored ${U2}`]);
  // Refreshed records of the loser note the same conflict once, not once per refresh.
  for (let k = 1; k <= 5; k++) r.accept(await node(U2).record('carlotta', T + 10 + k), T + 10 + k, new Map());
  assert.deepEqual(r.conflicts, [`carlotta.molt: kept ${U1}, ignored ${U2}`]);
  assert.deepEqual(r.expire(T + 300_005), [U1]);
  assert.equal(r.entries().length, 1);
  assert.notEqual(r.digest(), new MeshRegistry(opts).digest());
});
