/**
 * Fuzzing how the Moltbook client reads replies (src/controlplane/discovery/moltbook-client.ts) and what
 * discovery makes of the posts (posts.ts): a fake fetch answers with any status, headers and body (random
 * bytes, any JSON, the known reply shapes around junk, deeply nested JSON, the API key echoed back) or
 * fails. The rules: searchPosts and createPost resolve with what they promise (an array of objects; a
 * non-empty id) or reject with a MoltbookError, never another exception, and no error carries the key;
 * parsePosts of whatever searchPosts returns never reaches its last-resort catch.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MoltbookClient } from '../../src/controlplane/discovery/moltbook-client.js';
import { MoltbookError, MoltbookResponseError } from '../../src/controlplane/discovery/errors.js';
import { parsePosts } from '../../src/controlplane/discovery/posts.js';
import { anyText, fuzz, resolvesOrRejects } from '../helpers/fuzz.js';

const KEY = 'moltbook_sk_Q7xT2vLp9RmK4wZs8YbN3cJd';
const KEY_RE = new RegExp(KEY);

interface Reply {
  status: number;
  headers: Record<string, string>;
  body: Buffer | null;
}

function client(replies: (Reply | 'fail')[]): MoltbookClient {
  let i = 0;
  return new MoltbookClient({
    baseUrl: 'https://moltbook.example',
    apiKey: KEY,
    retries: 1,
    sleep: async () => undefined,
    random: () => 0.5,
    now: () => 1_800_000_000_000,
    maxResponseBytes: 64 * 1024,
    fetch: (async () => {
      const r = replies[Math.min(i++, replies.length - 1)]!;
      if (r === 'fail') throw Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNRESET' } });
      const noBody = r.status === 204 || r.status === 205 || r.status === 304;
      return new Response(noBody || r.body === null ? null : new Uint8Array(r.body), { status: r.status, headers: r.headers });
    }) as typeof fetch,
  });
}

const deep = (n: number, inner: string) => `${'['.repeat(n)}${inner}${']'.repeat(n)}`;

const json = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? 'null'),
  fc.jsonValue({ maxDepth: 3 }).chain((v) =>
    fc.constantFrom(JSON.stringify({ posts: [v] }), JSON.stringify({ data: v }), JSON.stringify({ results: [v, v] }), JSON.stringify({ id: v }), JSON.stringify({ post: { id: v } }), JSON.stringify([v])),
  ),
  fc.integer({ min: 1, max: 20_000 }).chain((n) =>
    fc.constantFrom(`{"x":${deep(n, '')}}`, `{"posts":{"a":${deep(n, '1')}}}`, `[{"author":${deep(n, '{}')}}]`, `{"post":${deep(n, '{"id":1}')}}`),
  ),
  fc.constantFrom(`{"error":"${KEY}"}`, `{"posts":"${KEY}"}`, `{"id":""}`, '{"id":1e400}', '{"verification_code":"x"}', ''),
);
const body = fc.oneof(
  { weight: 3, arbitrary: json.map((s) => Buffer.from(s)) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)) },
  { weight: 1, arbitrary: anyText(100).map((s) => Buffer.from(`${s}${KEY}`)) },
);
const reply: fc.Arbitrary<Reply | 'fail'> = fc.oneof(
  { weight: 1, arbitrary: fc.constant('fail' as const) },
  {
    weight: 8,
    arbitrary: fc.record({
      status: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(200, 201) }, { weight: 1, arbitrary: fc.integer({ min: 200, max: 599 }) }),
      headers: fc.record(
        {
          'content-length': fc.constantFrom('0', '5', '99999999', 'x', '-1'),
          'retry-after': fc.oneof(fc.constantFrom('0', '1', '99999999999', 'Wed, 21 Oct 2015 07:28:00 GMT', 'soon'), fc.stringMatching(/^[ -~]{0,20}$/)),
          location: fc.constantFrom('https://www.moltbook.example/', `https://x/?k=${KEY}`, ''),
        },
        { requiredKeys: [] },
      ),
      body: body.map((b) => b as Buffer | null),
    }),
  },
);

function noKey(err: Error): void {
  const e = err as Error & Record<string, unknown>;
  assert.doesNotMatch(`${String(err)} ${JSON.stringify(e)} ${String(err.stack)}`, KEY_RE);
}

test('property: any reply: the promised result or a MoltbookError without the key; posts parse without the last-resort catch', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(reply, { minLength: 1, maxLength: 3 }), fc.boolean(), async (replies, search) => {
      const c = client(replies);
      if (search) {
        const r = await resolvesOrRejects(() => c.searchPosts(), [MoltbookError], 'searchPosts');
        if (!r.ok) return noKey(r.error);
        assert.ok(Array.isArray(r.value));
        for (const p of r.value) assert.ok(typeof p === 'object' && p !== null && !Array.isArray(p));
        const parsed = parsePosts(r.value);
        for (const i of parsed.ignored) assert.doesNotMatch(i.reason, /^unparsable post/);
      } else {
        const r = await resolvesOrRejects(() => c.createPost({ submolt: 'general', title: 't', content: 'c' }), [MoltbookError], 'createPost');
        if (!r.ok) return noKey(r.error);
        assert.ok(typeof r.value.id === 'string' && r.value.id.length > 0);
      }
    }),
    fuzz(1),
  );
});

test('regression: a 2xx reply nested deeper than JSON.stringify can go is a MoltbookResponseError', async () => {
  // Found by the property above (a createPost reply {"x":[[[...]]]} 2,000+ deep): the error message
  // quoted JSON.stringify(reply), which threw RangeError: Maximum call stack size exceeded out of
  // createPost (a reply without an id) and searchPosts (a reply that is no post list).
  const nested = Buffer.from(`{"x":${deep(20_000, '')}}`);
  const calls: ((c: MoltbookClient) => Promise<unknown>)[] = [(c) => c.searchPosts(), (c) => c.createPost({ submolt: 'general', title: 't', content: 'c' })];
  for (const call of calls) {
    const r = await resolvesOrRejects(() => call(client([{ status: 200, headers: {}, body: nested }])), [MoltbookResponseError]);
    assert.ok(!r.ok);
    assert.match(r.error.message, /nested too deep/);
  }
});
