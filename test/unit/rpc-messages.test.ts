/**
 * Agent RPC requests as the spec writes them (§6.1), and what is refused, with the reason and the id.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RpcErrorCode, parseRequest, signingBytes } from '../../src/services/rpc/messages.js';

const A = 'fd00:6d6f:6c74:daa4:6e88:46c5:4af7:9268';
const B = 'fd00:6d6f:6c74:8883:3763:60b7:47db:8703';

test('the spec\'s request parses; addresses are normalized; the signed bytes are fixed', () => {
  const line = JSON.stringify({ id: 'msg-001', from: A.toUpperCase(), to: B, method: 'query', params: { question: 'How do you handle CI/CD pipelines?' }, timestamp: '2026-01-31T15:30:00Z' });
  const r = parseRequest(line);
  assert.ok(r.ok);
  assert.equal(r.request.from, A);
  assert.equal(
    signingBytes(r.request).toString('utf8'),
    `moltnet-rpc-v1\0["msg-001","${A}","${B}","query",{"question":"How do you handle CI/CD pipelines?"},"2026-01-31T15:30:00Z"]`,
  );
});

test('refusals name the field and keep the id when there is one', () => {
  const base = { id: 7, from: A, to: B, method: 'ping', timestamp: '2026-01-31T15:30:00Z' };
  const cases: [unknown, number, RegExp, unknown][] = [
    ['{not json', RpcErrorCode.ParseError, /not JSON/, null],
    [{ ...base, from: '2001:db8::1' }, RpcErrorCode.InvalidRequest, /^from: expected a MoltNet address/, 7],
    [{ ...base, method: '../x' }, RpcErrorCode.InvalidRequest, /^method: a method name/, 7],
    [{ ...base, timestamp: 'yesterday' }, RpcErrorCode.InvalidRequest, /^timestamp: expected an ISO 8601 time/, 7],
    [{ ...base, params: [1, 2] }, RpcErrorCode.InvalidRequest, /^params: /, 7],
    [{ ...base, extra: 1 }, RpcErrorCode.InvalidRequest, /Unrecognized key/, 7],
    [{ ...base, signature: 'abc' }, RpcErrorCode.InvalidRequest, /^signature: expected 0x and hex/, 7],
    [[1, 2], RpcErrorCode.InvalidRequest, /expected object/i, null],
  ];
  for (const [input, code, message, id] of cases) {
    const r = parseRequest(typeof input === 'string' ? input : JSON.stringify(input));
    assert.ok(!r.ok, JSON.stringify(input));
    assert.equal(r.error.code, code, JSON.stringify(input));
    assert.match(r.error.message, message);
    assert.equal(r.id, id);
  }
});
