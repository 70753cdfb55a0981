/**
 * Shared pieces of the fuzz properties (test/unit/fuzz-*.test.ts): the run budget, byte mutations of real
 * packets, and the "decodes or throws its named error, nothing else" check.
 *
 *   MOLTNET_FUZZ_RUNS=100000 node --test dist/test/unit/fuzz-*.test.js   a long run (default 300 per property,
 *                                                                         scaled per property by its cost)
 *   MOLTNET_FUZZ_SEED=<n>                                                 replay the seed a failure printed
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';

/** Runs of a property of unit cost; each property scales it by how cheap it is. */
export const FUZZ_RUNS = Math.max(1, Number(process.env.MOLTNET_FUZZ_RUNS ?? 300) || 300);
const SEED = process.env.MOLTNET_FUZZ_SEED;

/** fast-check parameters: FUZZ_RUNS * scale runs (at least 1), and the seed from MOLTNET_FUZZ_SEED if set. */
export function fuzz(scale = 1): { numRuns: number; seed?: number } {
  return { numRuns: Math.max(1, Math.round(FUZZ_RUNS * scale)), ...(SEED !== undefined && SEED !== '' ? { seed: Number(SEED) } : {}) };
}

// ---------------------------------------------------------------------------------------------------------
// Mutations of real bytes.

/**
 * One edit. Positions are taken modulo the current length (so any number is a position); `field` picks
 * one of the caller's interesting 16-bit offsets (length fields, counts) and moves it a little or sets it.
 */
export type Mutation =
  | { op: 'set'; at: number; value: number }
  | { op: 'flip'; at: number; bit: number }
  | { op: 'truncate'; at: number }
  | { op: 'extend'; bytes: Uint8Array }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'delete'; at: number; count: number }
  | { op: 'set16'; at: number; value: number }
  | { op: 'field'; i: number; delta: number; absolute: number | null };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('set' as const), at: fc.nat(0xffff), value: fc.nat(255) }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('flip' as const), at: fc.nat(0xffff), bit: fc.nat(7) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('truncate' as const), at: fc.nat(0xffff) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('extend' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 48 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('insert' as const), at: fc.nat(0xffff), bytes: fc.uint8Array({ minLength: 1, maxLength: 24 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('delete' as const), at: fc.nat(0xffff), count: fc.integer({ min: 1, max: 24 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('set16' as const), at: fc.nat(0xffff), value: fc.oneof(fc.nat(0xffff), fc.constantFrom(0, 1, 0xffff, 0x8000)) }) },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('field' as const),
      i: fc.nat(63),
      delta: fc.integer({ min: -64, max: 64 }),
      absolute: fc.option(fc.oneof(fc.nat(0xffff), fc.constantFrom(0, 1, 0xffff)), { nil: null }),
    }),
  },
);

/** Applies the edits in order to a copy of `base`. `fields`: the 16-bit offsets `field` edits pick from. */
export function mutate(base: Uint8Array, edits: readonly Mutation[], fields: readonly number[] = []): Buffer {
  let b = Buffer.from(base);
  for (const m of edits) {
    const pos = (at: number, n: number) => (n === 0 ? 0 : at % n);
    switch (m.op) {
      case 'set':
        if (b.length > 0) b[pos(m.at, b.length)] = m.value;
        break;
      case 'flip':
        if (b.length > 0) b[pos(m.at, b.length)]! ^= 1 << m.bit;
        break;
      case 'truncate':
        b = b.subarray(0, pos(m.at, b.length + 1));
        break;
      case 'extend':
        b = Buffer.concat([b, m.bytes]);
        break;
      case 'insert': {
        const at = pos(m.at, b.length + 1);
        b = Buffer.concat([b.subarray(0, at), m.bytes, b.subarray(at)]);
        break;
      }
      case 'delete': {
        const at = pos(m.at, b.length + 1);
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.count)]);
        break;
      }
      case 'set16':
        if (b.length >= 2) b.writeUInt16BE(m.value, pos(m.at, b.length - 1));
        break;
      case 'field': {
        if (fields.length === 0) break;
        const at = fields[m.i % fields.length]!;
        if (at + 2 > b.length) break;
        const v = m.absolute ?? (b.readUInt16BE(at) + m.delta) & 0xffff;
        b.writeUInt16BE(v, at);
        break;
      }
    }
  }
  return Buffer.from(b);
}

/** 1 to `max` edits. */
export function mutations(max = 4): fc.Arbitrary<Mutation[]> {
  return fc.array(mutation, { minLength: 1, maxLength: max });
}

/** A base picked from `bases` ([name, bytes]) and edits of it: `{ name, base, bytes }`. */
export function mutatedFrom<T extends { name: string; bytes: Buffer; fields?: readonly number[] }>(
  bases: readonly T[],
  max = 4,
): fc.Arbitrary<{ base: T; bytes: Buffer }> {
  return fc.tuple(fc.nat(bases.length - 1), mutations(max)).map(([i, edits]) => {
    const base = bases[i]!;
    return { base, bytes: mutate(base.bytes, edits, base.fields ?? []) };
  });
}

// ---------------------------------------------------------------------------------------------------------
// "Decodes, or throws its named error; nothing else."

type ErrorClass = abstract new (...args: never[]) => Error;

function checkError(err: unknown, allowed: readonly ErrorClass[], what: string): Error {
  if (!allowed.some((c) => err instanceof c)) {
    const name = err instanceof Error ? `${err.constructor.name}: ${err.message}` : String(err);
    assert.fail(`${what} threw ${name}, not ${allowed.map((c) => c.name).join(' or ')}${err instanceof Error && err.stack ? `\n${err.stack}` : ''}`);
  }
  assert.ok((err as Error).message.length > 0, `${what}: ${(err as Error).constructor.name} without a message`);
  return err as Error;
}

/** Runs `fn`: its value, or the error when it is one of `allowed` (with a message); anything else fails. */
export function decodesOrThrows<T>(fn: () => T, allowed: readonly ErrorClass[], what = 'the decoder'): { ok: true; value: T } | { ok: false; error: Error } {
  try {
    return { ok: true, value: fn() };
  } catch (err) {
    return { ok: false, error: checkError(err, allowed, what) };
  }
}

/** The same for a promise. */
export async function resolvesOrRejects<T>(
  fn: () => Promise<T>,
  allowed: readonly ErrorClass[],
  what = 'the call',
): Promise<{ ok: true; value: T } | { ok: false; error: Error }> {
  try {
    return { ok: true, value: await fn() };
  } catch (err) {
    return { ok: false, error: checkError(err, allowed, what) };
  }
}

/**
 * Any UTF-16 text (lone surrogates too), or text made of the characters of JSON and YAML syntax. Faster
 * than fc.string({ unit: 'binary' }) at these lengths.
 */
export function anyText(maxLength = 200): fc.Arbitrary<string> {
  const syntax = [...'{}[]":,\'-.+eE0123456789 \n\t#&*!|>?%@`~truefalsn/ux:'];
  return fc.oneof(
    fc.array(fc.nat(0xffff), { maxLength }).map((a) => String.fromCharCode(...a)),
    fc.array(fc.constantFrom(...syntax), { maxLength }).map((a) => a.join('')),
  );
}

/** Bytes from hex, spaces allowed (for regression inputs). */
export function hexBytes(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ''), 'hex');
}
