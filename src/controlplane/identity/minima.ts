/**
 * The Minima MoltID backend: the root key is the local Maxima key (RSA), used through the RPC.
 * Signature and permanent-address checks read `response.valid` / `response.success`, never only the
 * reply's status (a wrong signature is status:true, valid:false).
 */
import type { IdentityInfo, MoltIdBackend } from './backend.js';
import { MinimaReplyError } from './errors.js';
import { type MinimaClient, param } from './minima-rpc.js';
import { parseHex, parsePublicKey, toHex } from './moltid.js';

export class MinimaBackend implements MoltIdBackend {
  readonly kind = 'minima' as const;

  constructor(readonly rpc: MinimaClient) {}

  async init(): Promise<{ created: boolean }> {
    await this.info();
    return { created: false };
  }

  async info(): Promise<IdentityInfo> {
    const r = await this.rpc.response('maxima action:info');
    const pub = str(r, 'publickey', 'maxima action:info');
    const key = parsePublicKey(pub);
    return {
      publicKey: key.hex,
      keyType: key.type,
      name: typeof r['name'] === 'string' ? r['name'] : null,
      staticMls: r['staticmls'] === true || r['staticmls'] === 'true',
      mls: typeof r['mls'] === 'string' && r['mls'] !== '' ? r['mls'] : null,
      p2pIdentity: typeof r['p2pidentity'] === 'string' && r['p2pidentity'] !== '' ? r['p2pidentity'] : null,
    };
  }

  async sign(data: Uint8Array): Promise<Buffer> {
    const r = await this.rpc.response(`maxsign ${param('data', toHex(data))}`);
    return parseHex(str(r, 'signature', 'maxsign'), 'signature from maxsign');
  }

  async verify(data: Uint8Array, publicKey: string, signature: Uint8Array): Promise<boolean> {
    const line = `maxverify ${param('data', toHex(data))} ${param('publickey', publicKey)} ${param('signature', toHex(signature))}`;
    const r = await this.rpc.response(line);
    return r['valid'] === true;
  }

  /** `random`: size bytes from the node. */
  async random(size = 32): Promise<Buffer> {
    const r = await this.rpc.response(`random ${param('size', String(size))}`);
    return parseHex(str(r, 'random', 'random'), 'random from minima');
  }

  /** `maxextra action:staticmls host:<p2pidentity>`. */
  async setStaticMls(host: string): Promise<void> {
    await this.rpc.command(`maxextra action:staticmls ${param('host', host)}`);
  }

  /** `maxextra action:addpermanent publickey:` (run on the MLS host). */
  async addPermanent(publicKey: string): Promise<void> {
    await this.rpc.command(`maxextra action:addpermanent ${param('publickey', publicKey)}`);
  }

  async listPermanent(): Promise<unknown> {
    return (await this.rpc.command('maxextra action:listpermanent')).response ?? null;
  }

  /** `maxextra action:getaddress maxaddress:MAX#...`: true only when the MLS knows the address. */
  async permanentRegistered(permanentAddress: string): Promise<boolean> {
    const r = await this.rpc.response(`maxextra action:getaddress ${param('maxaddress', permanentAddress)}`);
    return r['success'] === true;
  }

  async allowAllContacts(enable: boolean): Promise<void> {
    await this.rpc.command(`maxextra action:allowallcontacts ${param('enable', String(enable))}`);
  }

  async addAllowed(publicKey: string): Promise<void> {
    await this.rpc.command(`maxextra action:addallowed ${param('publickey', publicKey)}`);
  }

  async clearAllowed(): Promise<void> {
    await this.rpc.command('maxextra action:clearallowed');
  }

  async listAllowed(): Promise<unknown> {
    return (await this.rpc.command('maxextra action:listallowed')).response ?? null;
  }

  async contacts(): Promise<unknown> {
    return (await this.rpc.command('maxcontacts action:list')).response ?? null;
  }
}

function str(r: Record<string, unknown>, key: string, cmd: string): string {
  const v = r[key];
  if (typeof v !== 'string' || v === '') throw new MinimaReplyError(`minima: ${cmd}: the reply has no ${key}`);
  return v;
}
