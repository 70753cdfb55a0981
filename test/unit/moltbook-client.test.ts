import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { MoltbookClient, parseRetryAfter, type MoltbookClientOptions } from '../../src/controlplane/discovery/moltbook-client.js';
import {
  MoltbookApiKeyError,
  MoltbookAuthError,
  MoltbookHttpError,
  MoltbookNetworkError,
  MoltbookResponseError,
} from '../../src/controlplane/discovery/errors.js';
import { FakeMoltbook, type FakeAgent } from '../helpers/fake-moltbook.js';

const KEY = 'moltbook_sk_Q7xT2vLp9RmK4wZs8YbN3cJd';
const OTHER_KEY = 'moltbook_sk_other0000000000000000000';
const ALICE: FakeAgent = { id: 'daa46e88-46c5-4af7-9268-1482c54c1922', name: 'AgenticMesh' };
const BOB: FakeAgent = { id: '88833763-60b7-47db-8703-349c6b2c70ff', name: 'clawdboy' };
const KEY_RE = new RegExp(KEY);

async function withFake<T>(fn: (fake: FakeMoltbook) => Promise<T>, opts: Partial<ConstructorParameters<typeof FakeMoltbook>[0]> = {}): Promise<T> {
  const fake = new FakeMoltbook({ agents: { [KEY]: ALICE, [OTHER_KEY]: BOB }, ...opts });
  await fake.start();
  try {
    return await fn(fake);
  } finally {
    await fake.close();
  }
}

function client(url: string, over: Partial<MoltbookClientOptions> = {}) {
  const sleeps: number[] = [];
  const c = new MoltbookClient({
    baseUrl: url,
    apiKey: KEY,
    apiKeyName: 'MOLTBOOK_API_KEY',
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0,
    timeoutMs: 5_000,
    ...over,
  });
  return { c, sleeps };
}

/** The thrown error, after checking that nothing in it carries the key. */
async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    assert.doesNotMatch(String(err) + JSON.stringify(err) + String((err as Error).stack), KEY_RE);
    return err as Error;
  }
  assert.fail('expected a rejection');
}

test('createPost then searchPosts: the post comes back with its author from the key, newest first', async () => {
  await withFake(async (fake) => {
    const { c } = client(fake.url);
    const first = await c.createPost({ submolt: 'general', title: 'first #moltnet', content: 'a', metadata: { ipv6: 'fd00:6d6f:6c74::1' } });
    const { c: bob } = client(fake.url, { apiKey: OTHER_KEY });
    const second = await bob.createPost({ submolt: 'general', title: 'second', content: 'Joining MoltNet! #moltnet' });
    fake.addPost(ALICE, { title: 'unrelated', content: 'cats' });
    const posts = await c.searchPosts();
    assert.deepEqual(posts.map((p) => p.id), [second.id, first.id]);
    assert.deepEqual(posts[1]!.author, ALICE);
    assert.deepEqual(posts[1]!.metadata, { ipv6: 'fd00:6d6f:6c74::1' });
    assert.deepEqual(posts[0]!.author, BOB);
    const get = fake.requests.at(-1)!;
    assert.equal(get.method, 'GET');
    assert.equal(get.url, '/api/v1/posts?q=moltnet&limit=100');
    assert.equal(get.headers.authorization, `Bearer ${KEY}`);
    const post = fake.requests[0]!;
    assert.equal(post.method, 'POST');
    assert.equal(post.url, '/api/v1/posts');
    assert.deepEqual(JSON.parse(post.body), { submolt: 'general', title: 'first #moltnet', content: 'a', metadata: { ipv6: 'fd00:6d6f:6c74::1' } });
  });
});

test('the key is only ever in the Authorization header', async () => {
  await withFake(async (fake) => {
    const { c } = client(fake.url);
    await c.createPost({ submolt: 'general', title: 't #moltnet', content: 'c' });
    await c.searchPosts();
    fake.postsListNotFound = true;
    await c.searchPosts();
    assert.equal(fake.requests.length, 4);
    for (const r of fake.requests) {
      assert.doesNotMatch(r.url, KEY_RE);
      assert.doesNotMatch(r.body, KEY_RE);
      for (let i = 0; i < r.rawHeaders.length; i += 2) {
        const [name, value] = [r.rawHeaders[i]!, r.rawHeaders[i + 1]!];
        if (name.toLowerCase() === 'authorization') assert.equal(value, `Bearer ${KEY}`);
        else assert.doesNotMatch(`${name}: ${value}`, KEY_RE);
      }
    }
  });
});

test('every reply shape of the listing is accepted; anything else is a MoltbookResponseError', async () => {
  for (const shape of ['posts', 'data', 'results', 'array'] as const) {
    await withFake(
      async (fake) => {
        fake.addPost(ALICE, { title: '#moltnet', content: 'x' });
        const { c } = client(fake.url);
        const posts = await c.searchPosts();
        assert.equal(posts.length, 1, shape);
      },
      { listShape: shape },
    );
  }
  await withFake(async (fake) => {
    const { c } = client(fake.url);
    fake.fault({ status: 200, body: { success: true, items: [] } });
    const err = await rejection(c.searchPosts());
    assert.ok(err instanceof MoltbookResponseError);
    assert.match(err.message, /not \{posts\|data\|results/);
    fake.fault({ status: 200, body: 'this is not json' });
    assert.ok((await rejection(c.searchPosts())) instanceof MoltbookResponseError);
    // Entries that are not objects are dropped; objects pass through unchecked (parsePosts checks them).
    fake.fault({ status: 200, body: { posts: [1, 'x', null, [], { id: 'p1' }] } });
    assert.deepEqual(await c.searchPosts(), [{ id: 'p1' }]);
  });
});

test('a posts listing that answers 404 falls back to search', async () => {
  await withFake(
    async (fake) => {
      fake.addPost(ALICE, { title: '🌐 MoltNet', content: 'Joining MoltNet! #moltnet' });
      const { c, sleeps } = client(fake.url);
      const posts = await c.searchPosts();
      assert.equal(posts.length, 1);
      assert.deepEqual(fake.requests.map((r) => r.url), ['/api/v1/posts?q=moltnet&limit=100', '/api/v1/search?q=moltnet&type=posts']);
      assert.deepEqual(sleeps, [], 'a 404 is not retried');
    },
    { postsListNotFound: true },
  );
});

test('429 with Retry-After: the sleep is the Retry-After time (seconds, HTTP date, capped)', async () => {
  await withFake(async (fake) => {
    const retries: unknown[] = [];
    const { c, sleeps } = client(fake.url, { onRetry: (i) => retries.push(i) });
    fake.fault({ status: 429, headers: { 'retry-after': '7' }, body: { error: 'slow down' } });
    fake.addPost(ALICE, { content: '#moltnet' });
    assert.equal((await c.searchPosts()).length, 1);
    assert.deepEqual(sleeps, [7000]);
    assert.deepEqual(retries, [{ method: 'GET', path: '/api/v1/posts?q=moltnet&limit=100', attempt: 1, delayMs: 7000, reason: 'HTTP 429' }]);
  });
  await withFake(async (fake) => {
    const now = Date.parse('2026-02-01T12:00:00Z');
    const { c, sleeps } = client(fake.url, { now: () => now, backoff: { maxMs: 20_000 } });
    fake.fault(
      { status: 429, headers: { 'retry-after': new Date(now + 3000).toUTCString() } },
      { status: 503, headers: { 'retry-after': '3600' } },
      { status: 429, headers: { 'retry-after': 'soon' } },
    );
    await c.searchPosts();
    // An unparsable Retry-After falls back to the backoff (random 0: half of 500 * 2^2).
    assert.deepEqual(sleeps, [3000, 20_000, 1000]);
  });
  assert.equal(parseRetryAfter('0', 0), 0);
  assert.equal(parseRetryAfter('Thu, 01 Jan 1970 00:00:01 GMT', 5000), 0, 'a date in the past is now');
  assert.equal(parseRetryAfter(null, 0), undefined);
});

test('500 then success: one retry after the backoff; 5xx backs off exponentially with jitter', async () => {
  await withFake(async (fake) => {
    const { c, sleeps } = client(fake.url);
    fake.fault({ status: 500, body: 'oops' });
    const { id } = await c.createPost({ submolt: 'general', title: 't', content: 'c' });
    assert.ok(id.length > 0);
    assert.deepEqual(sleeps, [250]);
    assert.equal(fake.requests.length, 2);
  });
  await withFake(async (fake) => {
    const { c, sleeps } = client(fake.url, { random: () => 0.5, backoff: { initialMs: 100, maxMs: 700 } });
    fake.fault({ status: 502 }, { status: 503 }, { status: 500 }, { status: 504 });
    await c.searchPosts();
    // step = min(700, 100 * 2^n); delay = step/2 + 0.5 * step/2
    assert.deepEqual(sleeps, [75, 150, 300, 525]);
  });
});

test('5xx past the retries is a MoltbookHttpError with the status and the number of attempts', async () => {
  await withFake(async (fake) => {
    const { c, sleeps } = client(fake.url, { retries: 2 });
    fake.fault({ status: 500, body: 'a' }, { status: 500, body: 'b' }, { status: 503, body: { error: `down (${KEY})` } });
    const err = await rejection(c.searchPosts());
    assert.ok(err instanceof MoltbookHttpError);
    assert.equal(err.status, 503);
    assert.equal(err.attempts, 3);
    assert.match(err.message, /answered 503 3 times/);
    assert.match(err.excerpt, /\[redacted\]/);
    assert.equal(sleeps.length, 2);
  });
});

test('401 and 403: MoltbookAuthError naming the variable, never retried', async () => {
  await withFake(async (fake) => {
    const { c, sleeps } = client(fake.url, { apiKey: 'moltbook_sk_unknown', apiKeyName: 'MY_MOLTBOOK_KEY' });
    const err = await rejection(c.searchPosts());
    assert.ok(err instanceof MoltbookAuthError);
    assert.equal(err.message, 'Moltbook refused the API key (401): check the variable MY_MOLTBOOK_KEY');
    assert.equal(err.status, 401);
    assert.deepEqual(sleeps, []);
    assert.equal(fake.requests.length, 1);
  });
  await withFake(async (fake) => {
    const { c, sleeps } = client(fake.url);
    fake.fault({ status: 403, body: { error: `key ${KEY} is suspended` } });
    const err = await rejection(c.createPost({ submolt: 'general', title: 't', content: 'c' }));
    assert.ok(err instanceof MoltbookAuthError);
    assert.equal(err.status, 403);
    assert.deepEqual(sleeps, []);
  });
});

test('another 4xx: MoltbookHttpError with a short, sanitized excerpt in which the key is redacted', async () => {
  await withFake(async (fake) => {
    const { c, sleeps } = client(fake.url);
    const echo = `{"error":"bad request","you_sent":"Bearer ${KEY}","enc":"${encodeURIComponent(KEY)}"}\u0000\u001b[31m${'x'.repeat(500)}`;
    fake.fault({ status: 400, body: echo });
    const err = await rejection(c.createPost({ submolt: 'general', title: 't', content: 'c' }));
    assert.ok(err instanceof MoltbookHttpError);
    assert.equal(err.status, 400);
    assert.ok(err.excerpt.length <= 200, `${err.excerpt.length}`);
    assert.match(err.excerpt, /Bearer \[redacted\]/);
    assert.doesNotMatch(err.excerpt, /[\u0000-\u001f]/);
    assert.deepEqual(sleeps, []);
  });
});

test('a key cut at the excerpt boundary is redacted before the cut', async () => {
  await withFake(async (fake) => {
    const { c } = client(fake.url);
    fake.fault({ status: 422, body: `${'y'.repeat(180)}${KEY}` });
    const err = await rejection(c.searchPosts());
    assert.ok(err instanceof MoltbookHttpError);
    assert.doesNotMatch(err.excerpt, new RegExp(KEY.slice(0, 12)));
  });
});

test('a missing or unusable API key is a clear error before any request', async () => {
  await withFake(async (fake) => {
    for (const apiKey of [undefined, '', '   ', 'has space', 'line\nbreak']) {
      const { c } = client(fake.url, { apiKey, apiKeyName: 'MB_KEY' });
      const err = await rejection(c.searchPosts());
      assert.ok(err instanceof MoltbookApiKeyError, String(apiKey));
      assert.match(err.message, /MB_KEY/);
      await assert.rejects(c.createPost({ submolt: 'general', title: 't', content: 'c' }), MoltbookApiKeyError);
    }
    assert.equal(fake.requests.length, 0);
  });
});

test('an oversize reply is cut off at maxResponseBytes (streamed or declared) and not retried', async () => {
  await withFake(async (fake) => {
    const { c, sleeps } = client(fake.url, { maxResponseBytes: 1024 * 1024 });
    fake.fault({ status: 200, streamBytes: 64 * 1024 * 1024 });
    const t0 = Date.now();
    const err = await rejection(c.searchPosts());
    assert.ok(err instanceof MoltbookResponseError);
    assert.match(err.message, /over the 1048576-byte limit/);
    assert.ok(Date.now() - t0 < 5000, 'aborted, not read to the end');
    fake.fault({ status: 200, body: JSON.stringify({ posts: [{ content: 'z'.repeat(2 * 1024 * 1024) }] }) });
    assert.ok((await rejection(c.searchPosts())) instanceof MoltbookResponseError);
    assert.deepEqual(sleeps, []);
    // An error reply of any size is only quoted, never read whole.
    fake.fault({ status: 400, streamBytes: 64 * 1024 * 1024 });
    const e400 = await rejection(c.searchPosts());
    assert.ok(e400 instanceof MoltbookHttpError && e400.status === 400);
  });
});

test('a reply that never comes times out per attempt, is retried, then is a MoltbookNetworkError', async () => {
  await withFake(async (fake) => {
    const { c, sleeps } = client(fake.url, { timeoutMs: 150, retries: 1 });
    fake.fault({ hang: true }, { hang: true });
    const t0 = Date.now();
    const err = await rejection(c.searchPosts());
    assert.ok(err instanceof MoltbookNetworkError);
    assert.equal(err.timedOut, true);
    assert.equal(err.attempts, 2);
    assert.match(err.message, /no answer from http:\/\/127\.0\.0\.1:\d+ within 150 ms \(2 attempts\)/);
    assert.deepEqual(sleeps, [250]);
    assert.ok(Date.now() - t0 < 4000);
  });
  await withFake(async (fake) => {
    // A hang then a good reply: the retry succeeds.
    const { c } = client(fake.url, { timeoutMs: 150 });
    fake.fault({ hang: true });
    fake.addPost(ALICE, { content: '#moltnet' });
    assert.equal((await c.searchPosts()).length, 1);
  });
});

test('a refused connection is retried, then a MoltbookNetworkError naming the reason', async () => {
  const port = await new Promise<number>((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  const { c, sleeps } = client(`http://127.0.0.1:${port}`, { retries: 2 });
  const err = await rejection(c.searchPosts());
  assert.ok(err instanceof MoltbookNetworkError);
  assert.equal(err.timedOut, false);
  assert.match(err.message, /cannot reach http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED \(3 attempts\)/);
  assert.deepEqual(sleeps, [250, 500]);
});

test('createPost takes the id from {id}, {post: {id}} or {data: {id}}; anything else is an error', async () => {
  await withFake(async (fake) => {
    const { c } = client(fake.url);
    fake.fault({ body: { id: 'a1' } }, { body: { success: true, post: { id: 'b2' } } }, { body: { data: { id: 77 } } });
    const np = { submolt: 'general', title: 't', content: 'c' };
    assert.deepEqual(await c.createPost(np), { id: 'a1' });
    assert.deepEqual(await c.createPost(np), { id: 'b2' });
    assert.deepEqual(await c.createPost(np), { id: '77' });
    fake.fault({ body: { success: true } });
    assert.ok((await rejection(c.createPost(np))) instanceof MoltbookResponseError);
    fake.fault({ body: { success: true, data: { verification_code: 'vc_1', challenge_text: 'lobster math' } } });
    const err = await rejection(c.createPost(np));
    assert.ok(err instanceof MoltbookResponseError);
    assert.match(err.message, /verification challenge/);
  });
});

test('a redirect is not followed (it would drop the key): the error names where to point baseUrl', async () => {
  await withFake(async (fake) => {
    const { c } = client(fake.url);
    fake.fault({ status: 301, headers: { location: 'https://www.moltbook.com/api/v1/posts' } });
    const err = await rejection(c.searchPosts());
    assert.ok(err instanceof MoltbookHttpError);
    assert.equal(err.status, 301);
    assert.match(err.message, /redirected \(301\) to https:\/\/www\.moltbook\.com\/api\/v1\/posts; set moltbook\.baseUrl/);
    assert.equal(fake.requests.length, 1);
  });
});

test('the fake listens on any address given (IPv6 loopback)', async () => {
  const fake = new FakeMoltbook({ agents: { [KEY]: ALICE }, host: '::1' });
  try {
    await fake.start();
  } catch {
    return; // no IPv6 loopback in this environment
  }
  try {
    assert.match(fake.url, /^http:\/\/\[::1\]:\d+$/);
    const { c } = client(fake.url);
    await c.createPost({ submolt: 'general', title: '#moltnet', content: 'c' });
    assert.equal((await c.searchPosts()).length, 1);
  } finally {
    await fake.close();
  }
});
