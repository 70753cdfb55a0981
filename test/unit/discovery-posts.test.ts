import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes, sign as cryptoSign } from 'node:crypto';
import fc from 'fast-check';
import { meshAddressBytes, uuidToMeshAddress } from '../../src/common/address.js';
import { InvalidInputError } from '../../src/common/errors.js';
import { MoltbookClient } from '../../src/controlplane/discovery/moltbook-client.js';
import { announcementPost, parsePost, parsePosts, type Announcement, type Candidate } from '../../src/controlplane/discovery/posts.js';
import { signBinding } from '../../src/controlplane/peering/handshake.js';
import type { BindingFields, SignedBinding } from '../../src/controlplane/peering/messages.js';
import { FakeMoltbook, type FakeAgent } from '../helpers/fake-moltbook.js';

const U1 = 'daa46e88-46c5-4af7-9268-1482c54c1922';
const U2 = '88833763-60b7-47db-8703-349c6b2c70ff';
const U3 = 'f8a9ce03-f512-4311-8792-519109168903';
const A1 = 'fd00:6d6f:6c74:daa4:6e88:46c5:4af7:9268';
const LEGACY1 = 'fd00:6d6f:6c74:daa4:6e88:46c5:4af7:9268:1482';
const ALICE: FakeAgent = { id: U1, name: 'AgenticMesh' };
const BOB: FakeAgent = { id: U2, name: 'clawdboy' };
const WG = randomBytes(32);

/** A MoltID (Ed25519, node:crypto) that signs bindings as the peering handshake does. */
function moltid() {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const der = publicKey.export({ format: 'der', type: 'spki' });
  return {
    id: `MOLTID:0x${der.toString('hex')}`,
    sign: (fields: Partial<BindingFields> & { uuid: string }): Promise<SignedBinding> =>
      signBinding(
        {
          meshAddress: meshAddressBytes(fields.uuid),
          moltidKey: der,
          endpoint: '192.0.2.10:4789',
          linkKinds: ['vxlan', 'gre', 'wireguard'],
          wireguardKey: WG,
          wireguardPort: 51820,
          timestampMs: 1_796_000_000_000,
          ...fields,
        },
        (d) => cryptoSign(null, d, privateKey),
      ),
  };
}

function announced(a: Partial<Announcement> = {}): Announcement {
  return { address: A1, endpoint: '192.0.2.10:4789', protocols: ['ospfv3', 'bfd'], capabilities: ['relay'], ...a };
}

/** The post Moltbook would list for an announcement by `author`. */
function asListed<P extends object>(author: unknown, post: P): P & { id: string; author: unknown; created_at: string } {
  return { id: 'p-1', author, created_at: '2026-02-01T10:00:00.000Z', ...post };
}

function candidateOf(post: unknown, unsigned: 'accept' | 'ignore' = 'accept'): Candidate {
  const r = parsePost(post, { unsigned });
  assert.ok(r.candidate, `ignored: ${r.ignored}`);
  return r.candidate;
}

function ignoredOf(post: unknown, unsigned: 'accept' | 'ignore' = 'accept'): string {
  const r = parsePost(post, { unsigned });
  assert.equal(r.candidate, undefined, 'expected the post to be ignored');
  return r.ignored!;
}

test('announcementPost writes the §7.1 post and the §4.1 metadata', () => {
  const p = announcementPost(announced({ address: LEGACY1, endpoint: '[2001:DB8::1]:4789', wireguardKey: WG, name: 'AgenticMesh' }));
  assert.equal(p.submolt, 'general');
  assert.equal(p.title, `🌐 MoltNet: ${A1} Online`);
  assert.equal(p.content, `Joining MoltNet! #moltnet\n\nIPv6: \`${A1}\`\nEndpoint: \`[2001:db8::1]:4789\``);
  assert.deepEqual(p.metadata, {
    moltnet_version: '1.0',
    ipv6: A1,
    endpoint: '[2001:db8::1]:4789',
    protocols: ['ospfv3', 'bfd'],
    capabilities: ['relay'],
    public_key: WG.toString('base64'),
    name: 'AgenticMesh',
  });
  assert.equal(announcementPost(announced({ endpoint: 'agent.example.com' })).metadata.endpoint, 'agent.example.com:4789');
  assert.throws(() => announcementPost(announced({ wireguardKey: 'c2hvcnQ=' })), InvalidInputError);
  assert.throws(() => announcementPost(announced({ address: '2001:db8::1' })), InvalidInputError);
});

test('an unsigned announcement round-trips through parsePost', () => {
  const post = asListed(ALICE, announcementPost(announced({ wireguardKey: WG.toString('base64') })));
  const c = candidateOf(post);
  assert.deepEqual(c, {
    uuid: U1,
    address: A1,
    name: 'AgenticMesh',
    endpoint: { host: '192.0.2.10', port: 4789 },
    protocols: ['ospfv3', 'bfd'],
    capabilities: ['relay'],
    wireguardKey: WG.toString('base64'),
    signed: false,
    postId: 'p-1',
    seenAt: Date.parse('2026-02-01T10:00:00.000Z'),
  });
  assert.match(ignoredOf(post, 'ignore'), /unsigned/);
});

test('a signed announcement round-trips: the binding verifies and names the author', async () => {
  const id = moltid();
  const sb = await id.sign({ uuid: U1 });
  // No WireGuard key given: the binding's is announced.
  const post = asListed(ALICE, announcementPost(announced({ signedBinding: sb })));
  assert.equal(post.metadata.public_key, WG.toString('base64'));
  for (const unsigned of ['accept', 'ignore'] as const) {
    const c = candidateOf(post, unsigned);
    assert.equal(c.signed, true);
    assert.equal(c.binding!.moltid, id.id);
    assert.equal(c.binding!.fields.uuid, U1);
    assert.deepEqual(c.binding!.fields.linkKinds, ['vxlan', 'gre', 'wireguard']);
    assert.equal(c.wireguardKey, WG.toString('base64'));
    assert.deepEqual(c.endpoint, { host: '192.0.2.10', port: 4789 });
  }
  // A binding with no endpoint: the post's is used.
  const noEp = await id.sign({ uuid: U1, endpoint: '' });
  assert.deepEqual(candidateOf(asListed(ALICE, announcementPost(announced({ endpoint: 'node.example.net:4800', signedBinding: noEp })))).endpoint, {
    host: 'node.example.net',
    port: 4800,
  });
});

test('announcementPost refuses a binding that disagrees with the post', async () => {
  const id = moltid();
  assert.throws(() => announcementPost(announced({ signedBinding: { binding: Buffer.from('x'), signature: Buffer.alloc(64) } })), InvalidInputError);
  const other = await id.sign({ uuid: U2 });
  assert.throws(() => announcementPost(announced({ signedBinding: other })), /is for fd00:6d6f:6c74:8883/);
  const sb = await id.sign({ uuid: U1 });
  assert.throws(() => announcementPost(announced({ endpoint: '192.0.2.99:4789', signedBinding: sb })), /endpoint/);
  assert.throws(() => announcementPost(announced({ wireguardKey: randomBytes(32), signedBinding: sb })), /WireGuard key/);
  const bad = { binding: sb.binding, signature: Buffer.from(sb.signature).fill(0) };
  assert.throws(() => announcementPost(announced({ signedBinding: bad })), /does not verify/);
});

test('a post with only content (spec §7.1), legacy 9-group address: a candidate at the valid address', () => {
  const post = {
    id: 'p-legacy',
    author: ALICE,
    title: `🌐 MoltNet: ${LEGACY1} Online`,
    content: `Joining MoltNet! #moltnet\n\nIPv6: \`${LEGACY1}\`\nEndpoint: \`agent.example.com:4789\``,
    created_at: '2026-01-31T00:00:00Z',
  };
  const c = candidateOf(post);
  assert.equal(c.address, A1);
  assert.deepEqual(c.endpoint, { host: 'agent.example.com', port: 4789 });
  assert.deepEqual(c.protocols, []);
  assert.equal(c.signed, false);
  // Upper case, in prose, no endpoint line: still found; no endpoint.
  const prose = candidateOf({ id: 'p', author: ALICE, content: `I am at ${LEGACY1.toUpperCase()}. #moltnet` });
  assert.equal(prose.address, A1);
  assert.equal(prose.endpoint, undefined);
  assert.equal(prose.endpointError, undefined);
  // An address in the title only.
  assert.equal(candidateOf({ id: 'p', author: ALICE, title: `MoltNet: ${A1} Online` }).address, A1);
});

test('the spec §4.1 example (legacy ipv6 in metadata, DNS endpoint, placeholder key) is a candidate without a key', () => {
  const c = candidateOf({
    id: 'p-41',
    author: ALICE,
    title: '🌐 MoltNet Node Announcement',
    content: 'Joining MoltNet! #moltnet',
    metadata: {
      moltnet_version: '1.0',
      ipv6: LEGACY1,
      endpoint: 'agent.example.com:4789',
      protocols: ['ospfv3', 'bfd', 'agent-rpc'],
      capabilities: ['relay', 'dns', 'mcp-proxy'],
      public_key: 'base64-encoded-key-for-wireguard',
    },
  });
  assert.equal(c.address, A1);
  assert.deepEqual(c.endpoint, { host: 'agent.example.com', port: 4789 });
  assert.deepEqual(c.protocols, ['ospfv3', 'bfd', 'agent-rpc']);
  assert.deepEqual(c.capabilities, ['relay', 'dns', 'mcp-proxy']);
  assert.equal(c.wireguardKey, undefined);
});

test('an address that does not derive from the author is ignored with the reason', () => {
  // Bob announcing Alice's address, in metadata and in content.
  assert.match(ignoredOf(asListed(BOB, announcementPost(announced()))), /does not derive from the author 88833763-60b7-47db-8703-349c6b2c70ff/);
  assert.match(ignoredOf({ id: 'p', author: BOB, content: `IPv6: \`${LEGACY1}\` #moltnet` }), /the post's address .* does not derive/);
  // A legacy address whose 9th group is not the author's.
  assert.match(ignoredOf({ id: 'p', author: ALICE, content: `IPv6: fd00:6d6f:6c74:daa4:6e88:46c5:4af7:9268:ffff` }), /9th group/);
  assert.match(ignoredOf({ id: 'p', author: ALICE, metadata: { ipv6: 'fd00:6d6f:6c74:daa4:6e88:46c5:4af7:9268:ffff' } }), /9th group/);
  // Metadata that claims something else, or something that is no address.
  assert.match(ignoredOf({ id: 'p', author: ALICE, metadata: { ipv6: '2001:db8::1' } }), /not a MoltNet address/);
  assert.match(ignoredOf({ id: 'p', author: ALICE, metadata: { ipv6: U1 } }), /not an IPv6 address/);
  assert.match(ignoredOf({ id: 'p', author: ALICE, metadata: { ipv6: 42 } }), /not a string/);
  assert.match(ignoredOf({ id: 'p', author: ALICE, content: 'Joining MoltNet! #moltnet' }), /no MoltNet address/);
  // Content mentioning other members too: one of them is the author's, so it counts.
  assert.equal(candidateOf({ id: 'p', author: ALICE, content: `peering with ${uuidToMeshAddress(U2)}; me: ${A1}` }).uuid, U1);
});

test('a signed binding must verify, name the author and the announced address, and agree with the post', async () => {
  const id = moltid();
  const good = asListed(ALICE, announcementPost(announced({ signedBinding: await id.sign({ uuid: U1 }) })));
  const withBinding = (mb: unknown, meta: Record<string, unknown> = {}) => ({ ...good, metadata: { ...good.metadata, moltid_binding: mb, ...meta } });
  const mb = good.metadata.moltid_binding!;

  const flipped = Buffer.from(mb.signature, 'base64');
  flipped[0]! ^= 1;
  assert.match(ignoredOf(withBinding({ ...mb, signature: flipped.toString('base64') })), /signature does not verify/);
  const tampered = Buffer.from(mb.binding, 'base64');
  tampered[tampered.length - 1]! ^= 1;
  assert.match(ignoredOf(withBinding({ ...mb, binding: tampered.toString('base64') })), /moltid_binding/);
  assert.match(ignoredOf(withBinding('not an object')), /moltid_binding is not an object/);
  assert.match(ignoredOf(withBinding({ binding: '!!!', signature: mb.signature })), /binding is not base64/);
  assert.match(ignoredOf(withBinding({ binding: mb.binding })), /signature is not base64/);

  // Bob's valid binding pasted into Alice's post (and Bob's address claimed by Alice's post).
  const bobs = await id.sign({ uuid: U2 });
  const pasted = { binding: Buffer.from(bobs.binding).toString('base64'), signature: Buffer.from(bobs.signature).toString('base64') };
  assert.match(ignoredOf(withBinding(pasted)), /is for 88833763-60b7-47db-8703-349c6b2c70ff, not the author/);
  // A binding whose address does not derive from its uuid.
  const skewed = await id.sign({ uuid: U1, meshAddress: meshAddressBytes(U3) });
  assert.match(ignoredOf(withBinding({ binding: Buffer.from(skewed.binding).toString('base64'), signature: Buffer.from(skewed.signature).toString('base64') })), /does not derive/);
  // The post's unsigned endpoint or key contradicting the signed ones.
  assert.match(ignoredOf(withBinding(mb, { endpoint: '192.0.2.66:4789' })), /differs from the signed binding/);
  assert.match(ignoredOf(withBinding(mb, { public_key: randomBytes(32).toString('base64') })), /public_key differs/);
  // The same endpoint spelt differently agrees; a garbage post endpoint yields to the binding's.
  assert.deepEqual(candidateOf(withBinding(mb, { endpoint: '192.0.2.10' })).endpoint, { host: '192.0.2.10', port: 4789 });
  assert.deepEqual(candidateOf(withBinding(mb, { endpoint: 'not a host!' })).endpoint, { host: '192.0.2.10', port: 4789 });
  // moltid_binding: null is no binding.
  assert.equal(candidateOf(withBinding(null)).signed, false);
});

test('endpoint rules: host:port, [v6]:port, bare IPv6, DNS names, default port 4789; garbage leaves no endpoint', () => {
  const ep = (endpoint: unknown) => {
    const c = candidateOf({ id: 'p', author: ALICE, metadata: { ipv6: A1, endpoint } });
    return c.endpoint ?? c.endpointError;
  };
  assert.deepEqual(ep('192.0.2.1:4789'), { host: '192.0.2.1', port: 4789 });
  assert.deepEqual(ep('192.0.2.1'), { host: '192.0.2.1', port: 4789 });
  assert.deepEqual(ep('[2001:DB8:0::1]:51820'), { host: '2001:db8::1', port: 51820 });
  assert.deepEqual(ep('2001:db8::1'), { host: '2001:db8::1', port: 4789 });
  assert.deepEqual(ep('[2001:db8::1]'), { host: '2001:db8::1', port: 4789 });
  assert.deepEqual(ep('agent.example.com:4789'), { host: 'agent.example.com', port: 4789 });
  assert.deepEqual(ep(' node-1.example '), { host: 'node-1.example', port: 4789 });
  for (const bad of ['not a host!', 'host:99999', 'host:0', 'host:http', '[2001:db8::1', '999.1.1.1:4789', '[fe80::1%eth0]:4789', '0.0.0.0:4789', '[::]:4789', 'a..b', 7, { host: 'x' }, '-x-.example']) {
    assert.equal(typeof ep(bad), 'string', `${JSON.stringify(bad)} should leave no endpoint`);
  }
  assert.equal(ep(''), undefined);
  assert.equal(ep(null), undefined);
  // In content: the §7.1 line, with or without backticks or markdown bold; prose is not an endpoint line.
  const fromContent = (line: string) => candidateOf({ id: 'p', author: ALICE, content: `IPv6: ${A1}\n${line}\n` }).endpoint;
  assert.deepEqual(fromContent('Endpoint: `198.51.100.7:4789`'), { host: '198.51.100.7', port: 4789 });
  assert.deepEqual(fromContent('endpoint: [2001:db8::7]:4790'), { host: '2001:db8::7', port: 4790 });
  assert.deepEqual(fromContent('**Endpoint:** `node.example.org`'), { host: 'node.example.org', port: 4789 });
  assert.equal(fromContent('Endpoint: is down today, sorry'), undefined);
  assert.equal(fromContent('My endpoint: 198.51.100.7'), undefined);
});

test('malformed posts are ignored with a reason or parsed around, never thrown', () => {
  assert.match(ignoredOf(null), /not an object/);
  assert.match(ignoredOf([A1]), /not an object/);
  assert.match(ignoredOf('post'), /not an object/);
  assert.match(ignoredOf({ id: 'p', content: A1 }), /no author/);
  assert.match(ignoredOf({ id: 'p', author: 'AgenticMesh', content: A1 }), /no author/);
  assert.match(ignoredOf({ id: 'p', author: { name: 'x' }, content: A1 }), /has no id/);
  assert.match(ignoredOf({ id: 'p', author: { id: 12 }, content: A1 }), /has no id/);
  assert.match(ignoredOf({ id: 'p', author: { id: 'daa46e88' }, content: A1 }), /is not a UUID/);
  // Wrong types around a usable core: id a number, title an object, name a number, metadata an array,
  // protocols not a list, capabilities with junk, created_at not a date.
  const c = candidateOf({
    id: 12345,
    title: { t: 1 },
    content: `IPv6: ${A1}`,
    author: { id: U1.toUpperCase(), name: 99 },
    metadata: [1, 2],
    created_at: 'yesterday',
  });
  assert.equal(c.postId, '12345');
  assert.equal(c.uuid, U1);
  assert.equal(c.name, '');
  assert.equal(c.seenAt, undefined);
  const d = candidateOf({ id: 'p', author: { id: U1, name: 'Ag\u0000ent\u202e\n' }, metadata: { ipv6: A1, protocols: 'ospfv3', capabilities: ['relay', 7, '', 'has space', 'x'.repeat(65), 'relay', 'dns'] } });
  assert.equal(d.name, 'Agent');
  assert.deepEqual(d.protocols, []);
  assert.deepEqual(d.capabilities, ['relay', 'dns']);
  // Metadata sent as a JSON string is read; a string that is not JSON is no metadata.
  assert.deepEqual(candidateOf({ id: 'p', author: ALICE, metadata: JSON.stringify({ ipv6: A1, endpoint: '192.0.2.1' }) }).endpoint, { host: '192.0.2.1', port: 4789 });
  assert.match(ignoredOf({ id: 'p', author: ALICE, metadata: '{not json' }), /no MoltNet address/);
  // Huge content: only the start is searched, quickly.
  const t0 = Date.now();
  const huge = `IPv6: ${A1}\n${'fd00:6d6f:6c74:'.repeat(400_000)}`;
  assert.equal(candidateOf({ id: 'p', author: ALICE, content: huge }).address, A1);
  assert.match(ignoredOf({ id: 'p', author: ALICE, content: `${'x'.repeat(1 << 20)}${A1}` }), /no MoltNet address/);
  assert.ok(Date.now() - t0 < 2000, `${Date.now() - t0} ms`);
});

test('parsePosts: one candidate per uuid, the newest post wins; a bad newer post does not hide a good older one', () => {
  const post = (id: string, author: FakeAgent, at: string | undefined, content: string) => ({ id, author, content, ...(at ? { created_at: at } : {}) });
  const A2 = uuidToMeshAddress(U2);
  const { candidates, ignored } = parsePosts([
    post('a-old', ALICE, '2026-01-01T00:00:00Z', `${A1}\nEndpoint: 192.0.2.1`),
    post('a-new', ALICE, '2026-01-03T00:00:00Z', `${A1}\nEndpoint: 192.0.2.3`),
    post('a-mid', ALICE, '2026-01-02T00:00:00Z', `${A1}\nEndpoint: 192.0.2.2`),
    post('a-undated', ALICE, undefined, `${A1}\nEndpoint: 192.0.2.9`),
    post('b-bad', BOB, '2026-01-05T00:00:00Z', A1),
    post('b-good', BOB, '2026-01-04T00:00:00Z', A2),
    'garbage',
  ]);
  assert.deepEqual(
    candidates.map((c) => [c.uuid, c.postId, c.endpoint?.host]),
    [
      [U1, 'a-new', '192.0.2.3'],
      [U2, 'b-good', undefined],
    ],
  );
  assert.deepEqual(
    ignored.map((i) => i.postId),
    ['a-old', 'a-mid', 'a-undated', 'b-bad', ''],
  );
  assert.match(ignored[0]!.reason, /superseded by the newer post a-new/);
  assert.match(ignored[3]!.reason, /does not derive/);
  assert.deepEqual(parsePosts({ posts: [] }), { candidates: [], ignored: [] });
  assert.deepEqual(parsePosts(undefined), { candidates: [], ignored: [] });
});

test('arbitrary JSON never throws (fast-check)', () => {
  // parsePost's last-resort catch must never be what saved it.
  const clean = (r: { ignored?: string }) => assert.doesNotMatch(r.ignored ?? '', /^unparsable post/);
  fc.assert(
    fc.property(fc.jsonValue(), (v) => {
      clean(parsePost(v));
      parsePosts(v);
      for (const i of parsePosts([v, v]).ignored) clean({ ignored: i.reason });
    }),
    { numRuns: 2000 },
  );
  // Post-shaped values with arbitrary field contents reach the deeper paths.
  const field = fc.oneof(fc.jsonValue(), fc.constantFrom(U1, A1, LEGACY1, '192.0.2.1:4789', '[::1]:1', 'AAAA', 'fd00:6d6f:6c74::'));
  const post = fc.record(
    {
      id: field,
      title: fc.oneof(field, fc.string().map((s) => `${s} ${A1}`)),
      content: fc.oneof(field, fc.string().map((s) => `IPv6: ${LEGACY1}${s}\nEndpoint: ${s}`)),
      author: fc.oneof(field, fc.record({ id: fc.oneof(field, fc.constant(U1)), name: field }, { requiredKeys: [] })),
      metadata: fc.oneof(
        field,
        fc.record(
          {
            ipv6: field,
            endpoint: fc.oneof(field, fc.string()),
            protocols: field,
            capabilities: fc.array(field),
            public_key: fc.oneof(field, fc.base64String()),
            moltid_binding: fc.oneof(field, fc.record({ binding: fc.oneof(field, fc.base64String()), signature: fc.oneof(field, fc.base64String()) }, { requiredKeys: [] })),
          },
          { requiredKeys: [] },
        ),
      ),
      created_at: fc.oneof(field, fc.date({ noInvalidDate: true }).map((d) => d.toISOString())),
    },
    { requiredKeys: [] },
  );
  fc.assert(
    fc.property(fc.array(post, { maxLength: 5 }), (posts) => {
      const { candidates, ignored } = parsePosts(posts);
      assert.equal(candidates.length + ignored.length, posts.length);
      for (const i of ignored) assert.doesNotMatch(i.reason, /^unparsable post/);
      for (const c of candidates) assert.equal(c.address, uuidToMeshAddress(c.uuid));
    }),
    { numRuns: 1000 },
  );
});

test('end to end on the fake Moltbook: announcements published by two agents are discovered by a third', async () => {
  const KEYS = { alice: 'moltbook_sk_alice_0123456789', bob: 'moltbook_sk_bob_0123456789', carol: 'moltbook_sk_carol_0123456789' };
  const CAROL: FakeAgent = { id: U3, name: 'Carlotta' };
  const fake = new FakeMoltbook({ agents: { [KEYS.alice]: ALICE, [KEYS.bob]: BOB, [KEYS.carol]: CAROL }, now: () => Date.parse('2026-02-01T00:00:00Z') });
  await fake.start();
  try {
    const mk = (apiKey: string) => new MoltbookClient({ baseUrl: fake.url, apiKey, timeoutMs: 5000, sleep: async () => undefined });
    const id = moltid();
    await mk(KEYS.alice).createPost(announcementPost(announced({ signedBinding: await id.sign({ uuid: U1 }) })));
    const bobAnn = announcementPost(announced({ address: U2, endpoint: '[2001:db8::b]:4789', wireguardKey: WG }));
    await mk(KEYS.bob).createPost(bobAnn);
    // Bob also posts Alice's address (ignored), a legacy content-only post (older: superseded), and
    // the feed carries malformed entries.
    fake.addPost(BOB, { title: '🌐 MoltNet', content: `Joining MoltNet! #moltnet\n\nIPv6: \`${A1}\``, created_at: '2026-01-01T00:00:00Z' });
    fake.addPost(BOB, { content: `Joining MoltNet! #moltnet\nIPv6: \`${uuidToMeshAddress(U2)}:349c\``, created_at: '2026-01-02T00:00:00Z' });
    fake.posts.push({ id: 'raw-1', content: '#moltnet', author: null }, { id: 'raw-2', content: { moltnet: true }, author: { id: U3 } });
    fake.posts.push({ id: 'raw-3', author: CAROL, content: `#moltnet ${'fd00:6d6f:6c74:'.repeat(5000)}` });

    const posts = await mk(KEYS.carol).searchPosts();
    const { candidates, ignored } = parsePosts(posts);
    const byUuid = new Map(candidates.map((c) => [c.uuid, c]));
    assert.equal(candidates.length, 2);
    assert.equal(byUuid.get(U1)!.signed, true);
    assert.equal(byUuid.get(U1)!.binding!.moltid, id.id);
    assert.deepEqual(byUuid.get(U1)!.endpoint, { host: '192.0.2.10', port: 4789 });
    assert.equal(byUuid.get(U2)!.signed, false);
    assert.deepEqual(byUuid.get(U2)!.endpoint, { host: '2001:db8::b', port: 4789 });
    assert.equal(byUuid.get(U2)!.wireguardKey, WG.toString('base64'));
    assert.equal(byUuid.get(U2)!.name, 'clawdboy');
    assert.equal(ignored.length, 5, JSON.stringify(ignored));
    assert.ok(ignored.some((i) => /does not derive/.test(i.reason)));
    assert.ok(ignored.some((i) => /superseded/.test(i.reason)));
    // Signed posts only: Bob's unsigned announcement goes too.
    assert.deepEqual(parsePosts(posts, { unsigned: 'ignore' }).candidates.map((c) => c.uuid), [U1]);
  } finally {
    await fake.close();
  }
});
