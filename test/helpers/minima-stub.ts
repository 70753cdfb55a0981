/**
 * A stub Minima RPC server on 127.0.0.1 (port 0) for unit tests: it answers the commands the MoltID
 * backend uses, as Minima does (`{command, params, status, pending, response | error}`), signs with an
 * RSA key SHA256withRSA (PKCS#1 v1.5) as Maxima does, and records every request (raw URL, decoded
 * command line, Authorization header).
 */
import { constants, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StubOptions {
  privateKey: KeyObject;
  password?: string;
  /** The first N requests answer status:false "starting". */
  startingReplies?: number;
  name?: string;
  p2pIdentity?: string;
}

export interface StubRequest {
  rawUrl: string;
  line: string;
  authorization: string | undefined;
}

export class MinimaStub {
  readonly requests: StubRequest[] = [];
  publicKey: string;
  staticMls = false;
  mls: string;
  readonly permanent = new Set<string>();
  readonly allowed: string[] = [];
  allowAll = true;
  private starting: number;
  private server: Server | undefined;
  url = '';

  constructor(private readonly o: StubOptions) {
    this.publicKey = `0x${createPublicKey(o.privateKey).export({ format: 'der', type: 'spki' }).toString('hex').toUpperCase()}`;
    this.starting = o.startingReplies ?? 0;
    this.mls = o.p2pIdentity ?? 'MxG18HGG6FJ038614Y8CW46US6G20810K0070CD00Z83282G60G1C9RS1AMUNYYTP@127.0.0.1:9001';
  }

  setStarting(n: number): void {
    this.starting = n;
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      const rawUrl = req.url ?? '/';
      let line: string;
      try {
        line = decodeURIComponent(rawUrl.slice(1));
      } catch {
        line = '';
      }
      this.requests.push({ rawUrl, line, authorization: req.headers.authorization });
      if (this.o.password !== undefined) {
        const want = `Basic ${Buffer.from(`minima:${this.o.password}`).toString('base64')}`;
        if (req.headers.authorization !== want) {
          res.writeHead(401, { 'www-authenticate': 'Basic realm="minima"' }).end();
          return;
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(this.answer(line)));
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  private answer(line: string): Record<string, unknown> {
    const [command = '', ...rest] = line.split(' ');
    const params: Record<string, string> = {};
    for (const t of rest) {
      const i = t.indexOf(':');
      if (i > 0) params[t.slice(0, i)] = t.slice(i + 1);
    }
    const ok = (response: unknown) => ({ command, params, status: true, pending: false, response });
    const fail = (error: string) => ({ command, params, status: false, pending: false, error });
    if (this.starting > 0) {
      this.starting--;
      return fail('Maxima is starting up, please wait..');
    }
    const hex = (s: string | undefined) => Buffer.from((s ?? '').replace(/^0x/i, ''), 'hex');
    const action = params['action'];
    switch (`${command}${action ? ` ${action}` : ''}`) {
      case 'maxima info':
        return ok({
          logs: false,
          name: this.o.name ?? 'stubnode',
          publickey: this.publicKey,
          staticmls: this.staticMls,
          mls: this.staticMls ? this.mls : 'MxOTHERMLS@10.0.0.9:9001',
          localidentity: 'MxLOCAL@127.0.0.1:9001',
          p2pidentity: this.o.p2pIdentity ?? 'MxG18HGG6FJ038614Y8CW46US6G20810K0070CD00Z83282G60G1C9RS1AMUNYYTP@127.0.0.1:9001',
          contact: `MAX#${this.publicKey}#${this.mls}`,
        });
      case 'maxsign': {
        if (!params['data']) return fail('No data specified');
        const signature = sign('sha256', hex(params['data']), { key: this.o.privateKey, padding: constants.RSA_PKCS1_PADDING });
        return ok({ signature: `0x${signature.toString('hex').toUpperCase()}` });
      }
      case 'maxverify': {
        let valid = false;
        try {
          const key = createPublicKey({ key: hex(params['publickey']), format: 'der', type: 'spki' });
          valid = verify('sha256', hex(params['data']), { key, padding: constants.RSA_PKCS1_PADDING }, hex(params['signature']));
        } catch {
          valid = false;
        }
        return ok({ message: valid ? 'Signature valid' : 'Signature not valid', valid });
      }
      case 'random':
        return ok({ size: Number(params['size'] ?? 32), random: `0x${'AB'.repeat(Number(params['size'] ?? 32))}` });
      case 'maxextra staticmls':
        if (!params['host']) return fail('No host specified');
        this.staticMls = true;
        this.mls = params['host'];
        return ok({ staticmls: true, mls: this.mls });
      case 'maxextra addpermanent':
        this.permanent.add(String(params['publickey']));
        return ok({ publickey: params['publickey'] });
      case 'maxextra listpermanent':
        return ok({ permanent: [...this.permanent] });
      case 'maxextra getaddress': {
        const parts = String(params['maxaddress'] ?? '').split('#');
        const success = parts.length === 3 && [...this.permanent].some((k) => k.toUpperCase() === String(parts[1]).toUpperCase()) && parts[2] === this.mls;
        return ok(success ? { success, mlsresponse: { address: `Mx${'0'.repeat(8)}@${this.mls}` } } : { success, error: 'Public key not found' });
      }
      case 'maxextra allowallcontacts':
        this.allowAll = params['enable'] === 'true';
        return ok({ allowallcontacts: this.allowAll });
      case 'maxextra addallowed':
        this.allowed.push(String(params['publickey']));
        return ok({ added: params['publickey'] });
      case 'maxextra listallowed':
        return ok({ allowed: [...this.allowed] });
      case 'maxextra clearallowed':
        this.allowed.length = 0;
        return ok({ cleared: true });
      case 'maxcontacts list':
        return ok({ contacts: [] });
      default:
        return fail(`Command not found : ${command}`);
    }
  }
}
