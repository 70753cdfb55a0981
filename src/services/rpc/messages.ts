/**
 * Agent RPC messages (spec §6.1): one JSON object per line.
 *
 *   request   {id, from, to, method, params?, timestamp, signature?}
 *   response  {id, from, to, result | error: {code, message}, timestamp}
 *
 * A request may be signed by the sender's MoltID key over
 *   "moltnet-rpc-v1\0" + JSON.stringify([id, from, to, method, params ?? null, timestamp])
 * ("0x" + hex in `signature`); the receiver checks it against the sender's verified binding.
 * Error codes follow JSON-RPC 2.0 where one fits.
 */
import { z } from 'zod';
import { isMeshAddress, parseIpv6, formatIpv6 } from '../../common/address.js';

export const RPC_SIGNING_TAG = 'moltnet-rpc-v1\0';
/** Longest line read (a request, or a response to the client). */
export const MAX_LINE = 64 * 1024;
/**
 * Deepest nesting of `params` taken. A MAX_LINE line can nest 32k deep, which JSON.parse takes but
 * JSON.stringify (signingBytes, the webhook call) cannot: it throws RangeError past a few thousand.
 */
export const MAX_PARAMS_DEPTH = 1000;

export const RpcErrorCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InternalError: -32603,
  /** The handler (webhook) did not answer in time or answered badly. */
  HandlerFailed: -32000,
  /** The signature does not verify, or the sender has no verified binding to check it against. */
  Unauthenticated: -32001,
  /** Over the per-source rate, or not on the allow list. */
  Refused: -32002,
} as const;

const meshAddress = z
  .string()
  .max(64)
  .refine((s) => isMeshAddress(s), { message: 'expected a MoltNet address (fd00:6d6f:6c74::/48)' })
  .transform((s) => formatIpv6(parseIpv6(s)!));

export const RpcRequestSchema = z
  .object({
    id: z.union([z.string().min(1).max(128), z.number().int()]),
    from: meshAddress,
    to: meshAddress,
    method: z.string().regex(/^[A-Za-z][A-Za-z0-9_.-]{0,63}$/, 'a method name: a letter, then up to 63 letters, digits, _ . -'),
    params: z
      .record(z.unknown())
      .refine((p) => !nestedDeeper(p, MAX_PARAMS_DEPTH), { message: `nested deeper than ${MAX_PARAMS_DEPTH} levels` })
      .optional(),
    timestamp: z.string().max(40).refine((s) => !Number.isNaN(Date.parse(s)), { message: 'expected an ISO 8601 time' }),
    signature: z.string().regex(/^0x[0-9a-fA-F]{2,2048}$/, 'expected 0x and hex').optional(),
  })
  .strict();
export type RpcRequest = z.infer<typeof RpcRequestSchema>;

/** True when `v` has objects or arrays nested more than `max` levels (walked without recursion). */
function nestedDeeper(v: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[v, 0]];
  while (stack.length > 0) {
    const [x, depth] = stack.pop()!;
    if (x === null || typeof x !== 'object') continue;
    if (depth > max) return true;
    for (const y of Object.values(x)) stack.push([y, depth + 1]);
  }
  return false;
}

export interface RpcError {
  code: number;
  message: string;
}

export interface RpcResponse {
  id: string | number | null;
  from: string;
  to: string;
  result?: unknown;
  error?: RpcError;
  timestamp: string;
}

/** The bytes a request's signature covers. */
export function signingBytes(r: Pick<RpcRequest, 'id' | 'from' | 'to' | 'method' | 'params' | 'timestamp'>): Buffer {
  return Buffer.from(RPC_SIGNING_TAG + JSON.stringify([r.id, r.from, r.to, r.method, r.params ?? null, r.timestamp]), 'utf8');
}

/** Parse one line: the request, or the error to answer (with the id when it could be read). */
export function parseRequest(line: string): { ok: true; request: RpcRequest } | { ok: false; id: string | number | null; error: RpcError } {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (err) {
    return { ok: false, id: null, error: { code: RpcErrorCode.ParseError, message: `not JSON: ${(err as Error).message}` } };
  }
  const id = v && typeof v === 'object' && ('id' in v) && (typeof (v as { id: unknown }).id === 'string' || typeof (v as { id: unknown }).id === 'number') ? ((v as { id: string | number }).id) : null;
  const r = RpcRequestSchema.safeParse(v);
  if (!r.success) {
    const i = r.error.issues[0]!;
    const where = i.path.length > 0 ? `${i.path.join('.')}: ` : '';
    return { ok: false, id, error: { code: RpcErrorCode.InvalidRequest, message: `${where}${i.message}` } };
  }
  return { ok: true, request: r.data };
}
