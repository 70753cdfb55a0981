/**
 * The peering messages (proto/peering.proto, protobufjs) and their framing on TCP 6802: a 4-byte
 * big-endian length, then one Envelope. Decoding untrusted bytes never throws past this module: a frame
 * over the size limit, a length that lies, or bytes that are not an Envelope come back as a
 * PeeringProtocolError with the reason.
 */
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { MoltnetError } from '../../common/errors.js';

/** Largest frame either side accepts: a binding with an RSA-4096 key fits several times over. */
export const MAX_FRAME = 16 * 1024;
export const FRAME_HEADER = 4;
export const PEERING_VERSION = 1;

export class PeeringProtocolError extends MoltnetError {}

export interface BindingFields {
  uuid: string;
  meshAddress: Uint8Array;
  moltidKey: Uint8Array;
  endpoint: string;
  linkKinds: string[];
  wireguardKey?: Uint8Array;
  wireguardPort?: number;
  timestampMs: number;
}

export interface SignedBinding {
  binding: Uint8Array;
  signature: Uint8Array;
}

export interface LinkParams {
  kind: string;
  vni?: number;
  greKey?: number;
}

export type Envelope =
  | { hello: { version: number; capabilities: string[]; binding: SignedBinding; challenge: Uint8Array } }
  | { reply: { version: number; capabilities: string[]; binding: SignedBinding; challenge: Uint8Array; response: Uint8Array } }
  | { proof: { response: Uint8Array } }
  | { result: { accepted: boolean; reason: string; link?: LinkParams } }
  | { keepalive: { sentMs: number } }
  | { peersRequest: { max: number } }
  | { peersReply: { peers: SignedBinding[] } }
  | { observed: { endpoint: string } }
  | { candidates: { endpoints: string[] } }
  | { registry: { records: RegistryRecord[] } };

/** A node's entry in the mesh-wide registry (peering.proto RegistryRecord). */
export interface RegistryRecord {
  binding: SignedBinding;
  info: Uint8Array;
  infoSignature: Uint8Array;
}

export interface RegistryInfoFields {
  name: string;
  capabilities: string[];
  services: string[];
  version: string;
  timestampMs: number;
}

/** The messages of an established session other than keepalives. */
export type SessionMessage = Extract<Envelope, { peersRequest: unknown } | { peersReply: unknown } | { observed: unknown } | { candidates: unknown } | { registry: unknown }>;

// dist/src/controlplane/peering -> the repository's proto/ (and src/... when run from sources).
const protoPath = fileURLToPath(new URL('../../../../proto/peering.proto', import.meta.url));
const protoPathSrc = fileURLToPath(new URL('../../../proto/peering.proto', import.meta.url));

let root: protobuf.Root | undefined;
function types(): { envelope: protobuf.Type; binding: protobuf.Type; registryInfo: protobuf.Type } {
  if (!root) {
    try {
      root = protobuf.loadSync(protoPath);
    } catch {
      root = protobuf.loadSync(protoPathSrc);
    }
  }
  return {
    envelope: root.lookupType('moltnet.peering.v1.Envelope'),
    binding: root.lookupType('moltnet.peering.v1.Binding'),
    registryInfo: root.lookupType('moltnet.peering.v1.RegistryInfo'),
  };
}

const toObject: protobuf.IConversionOptions = { longs: Number, defaults: true, arrays: true, oneofs: false };

export function encodeBinding(b: BindingFields): Buffer {
  const { binding } = types();
  return Buffer.from(binding.encode(binding.fromObject({ ...b, wireguardKey: b.wireguardKey ?? Buffer.alloc(0), wireguardPort: b.wireguardPort ?? 0 })).finish());
}

export function decodeBinding(bytes: Uint8Array): BindingFields {
  const { binding } = types();
  let m: protobuf.Message;
  try {
    m = binding.decode(bytes);
  } catch (err) {
    throw new PeeringProtocolError(`binding does not decode: ${(err as Error).message}`);
  }
  const o = binding.toObject(m, toObject) as BindingFields & { wireguardKey: Buffer; wireguardPort: number };
  return {
    uuid: o.uuid,
    meshAddress: o.meshAddress,
    moltidKey: o.moltidKey,
    endpoint: o.endpoint,
    linkKinds: o.linkKinds,
    ...(o.wireguardKey.length > 0 ? { wireguardKey: o.wireguardKey } : {}),
    ...(o.wireguardPort ? { wireguardPort: o.wireguardPort } : {}),
    timestampMs: Number(o.timestampMs),
  };
}

export function encodeRegistryInfo(i: RegistryInfoFields): Buffer {
  const { registryInfo } = types();
  return Buffer.from(registryInfo.encode(registryInfo.fromObject(i)).finish());
}

export function decodeRegistryInfo(bytes: Uint8Array): RegistryInfoFields {
  const { registryInfo } = types();
  let m: protobuf.Message;
  try {
    m = registryInfo.decode(bytes);
  } catch (err) {
    throw new PeeringProtocolError(`registry info does not decode: ${(err as Error).message}`);
  }
  const o = registryInfo.toObject(m, toObject) as RegistryInfoFields;
  return { name: o.name, capabilities: o.capabilities, services: o.services, version: o.version, timestampMs: Number(o.timestampMs) };
}

/** One framed message, ready to write. */
export function encodeFrame(env: Envelope): Buffer {
  const { envelope } = types();
  const body = envelope.encode(envelope.fromObject(env)).finish();
  if (body.length > MAX_FRAME) throw new PeeringProtocolError(`message of ${body.length} bytes is over the ${MAX_FRAME}-byte limit`);
  const out = Buffer.alloc(FRAME_HEADER + body.length);
  out.writeUInt32BE(body.length, 0);
  out.set(body, FRAME_HEADER);
  return out;
}

export function decodeEnvelope(body: Uint8Array): Envelope {
  const { envelope } = types();
  let m: protobuf.Message;
  try {
    m = envelope.decode(body);
  } catch (err) {
    throw new PeeringProtocolError(`message does not decode: ${(err as Error).message}`);
  }
  const o = envelope.toObject(m, { ...toObject, defaults: false }) as Record<string, Record<string, unknown>>;
  const keys = Object.keys(o);
  if (keys.length !== 1) throw new PeeringProtocolError('message carries no hello, reply, proof, result, keepalive, peer exchange or endpoint');
  const which = keys[0]!;
  const x = envelope.toObject(m, toObject) as Record<string, Record<string, unknown>>;
  const v = x[which]!;
  const sb = (s: unknown): SignedBinding => {
    const r = (s ?? {}) as { binding?: Buffer; signature?: Buffer };
    return { binding: r.binding ?? Buffer.alloc(0), signature: r.signature ?? Buffer.alloc(0) };
  };
  switch (which) {
    case 'hello':
      return { hello: { version: v['version'] as number, capabilities: v['capabilities'] as string[], binding: sb(v['binding']), challenge: v['challenge'] as Buffer } };
    case 'reply':
      return {
        reply: { version: v['version'] as number, capabilities: v['capabilities'] as string[], binding: sb(v['binding']), challenge: v['challenge'] as Buffer, response: v['response'] as Buffer },
      };
    case 'proof':
      return { proof: { response: v['response'] as Buffer } };
    case 'keepalive':
      return { keepalive: { sentMs: Number(v['sentMs']) } };
    case 'peersRequest':
      return { peersRequest: { max: Number(v['max']) } };
    case 'peersReply':
      return { peersReply: { peers: ((v['peers'] as unknown[]) ?? []).map(sb) } };
    case 'observed':
      return { observed: { endpoint: String(v['endpoint'] ?? '') } };
    case 'candidates':
      return { candidates: { endpoints: ((v['endpoints'] as unknown[]) ?? []).map(String) } };
    case 'registry':
      return {
        registry: {
          records: ((v['records'] as Record<string, unknown>[]) ?? []).map((r) => ({
            binding: sb(r['binding']),
            info: (r['info'] as Buffer) ?? Buffer.alloc(0),
            infoSignature: (r['infoSignature'] as Buffer) ?? Buffer.alloc(0),
          })),
        },
      };
    case 'result': {
      const link = o[which]!['link'] as { kind?: string; vni?: number; greKey?: number } | undefined;
      return {
        result: {
          accepted: v['accepted'] as boolean,
          reason: v['reason'] as string,
          ...(link ? { link: { kind: link.kind ?? '', ...(link.vni ? { vni: link.vni } : {}), ...(link.greKey ? { greKey: link.greKey } : {}) } } : {}),
        },
      };
    }
    default:
      throw new PeeringProtocolError(`unknown message "${which}"`);
  }
}

/**
 * Splits a TCP byte stream into frames. push() returns the complete messages so far; a frame over
 * MAX_FRAME or a body that does not decode throws PeeringProtocolError (the caller closes the
 * connection). Holds at most one partial frame.
 */
export class FrameDecoder {
  private buf = Buffer.alloc(0);

  push(chunk: Uint8Array): Envelope[] {
    this.buf = this.buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buf, chunk]);
    const out: Envelope[] = [];
    while (this.buf.length >= FRAME_HEADER) {
      const len = this.buf.readUInt32BE(0);
      if (len > MAX_FRAME) throw new PeeringProtocolError(`frame of ${len} bytes is over the ${MAX_FRAME}-byte limit`);
      if (this.buf.length < FRAME_HEADER + len) break;
      out.push(decodeEnvelope(this.buf.subarray(FRAME_HEADER, FRAME_HEADER + len)));
      this.buf = this.buf.subarray(FRAME_HEADER + len);
    }
    return out;
  }

  get buffered(): number {
    return this.buf.length;
  }
}
