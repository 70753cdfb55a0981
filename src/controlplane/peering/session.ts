/**
 * One peering connection on TCP 6802: the handshake over framed messages, then the session that
 * keeps the peer's link admitted. After an accepted handshake each side sends a Keepalive every
 * keepalive interval; a session silent for the hold time, a message that is not a Keepalive, a frame
 * over the limit or a peer that stops reading closes it. The service decides what a session means
 * (which link it admits); this class only runs the bytes and the timers.
 *
 *   handshake --(Established)--> established --(close: EOF, error, hold, bad frame)--> closed
 *   handshake --(Failed, timeout, EOF)--> closed
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import type { Clock } from '../../common/clock.js';
import type { Logger } from '../../common/log.js';
import type { Timers } from '../service.js';
import { Handshake, type HandshakeOptions, type VerifiedPeer } from './handshake.js';
import { FrameDecoder, MAX_FRAME, encodeFrame, type Envelope, type LinkParams, type SessionMessage } from './messages.js';

/** A peer that does not read what we send: this much unsent is a dead session. */
const MAX_UNSENT = 4 * MAX_FRAME;

export type SessionState = 'handshake' | 'established' | 'closed';

export interface SessionOptions {
  socket: Socket;
  handshake: Omit<HandshakeOptions, 'now' | 'wallNow'>;
  clock: Clock;
  wallClock: () => number;
  timers: Timers;
  keepaliveMs: number;
  holdMs: number;
  log: Logger;
}

export interface SessionEvents {
  established: [];
  closed: [reason: string];
  /** A message of the established session: peer exchange, an observed endpoint, candidates. */
  message: [message: SessionMessage];
}

export class PeeringSession extends EventEmitter<SessionEvents> {
  state: SessionState = 'handshake';
  readonly role: 'initiator' | 'responder';
  readonly remoteAddress: string;
  /** Why it closed (a refusal's reason, a timeout, EOF). */
  reason: string | undefined;
  /** It got past the handshake (stays true once closed). */
  wasEstablished = false;
  /** When the last message came (monotonic ms). */
  lastHeard: number;
  private readonly hs: Handshake;
  private readonly decoder = new FrameDecoder();
  /** Messages are handled one at a time: a handshake step may await a signature. */
  private work: Promise<void> = Promise.resolve();
  private holdTimer: unknown;
  private keepaliveTimer: unknown;
  private handshakeTimer: unknown;

  constructor(private readonly o: SessionOptions) {
    super();
    this.role = o.handshake.role;
    this.remoteAddress = o.socket.remoteAddress ?? '?';
    const now = o.clock.now();
    this.lastHeard = now;
    this.hs = new Handshake({ ...o.handshake, now, wallNow: o.wallClock() });
    o.socket.setNoDelay(true);
    o.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    o.socket.on('end', () => this.close(this.state === 'established' ? 'the peer closed the session' : 'the peer closed the connection during the handshake'));
    o.socket.on('error', (err) => this.close(`connection error: ${err.message}`));
    o.socket.on('close', () => this.close('connection closed'));
    const wake = this.hs.nextWake() - now;
    this.handshakeTimer = o.timers.setTimeout(() => {
      this.handshakeTimer = undefined;
      if (this.state === 'handshake') this.finish(this.hs.tick(o.clock.now()).send, 'handshake timed out');
    }, Math.max(0, wake));
    if (this.role === 'initiator') this.enqueue(async () => this.sendAll((await this.hs.start()).send));
  }

  /** The verified peer (set once its binding checked out, final once established). */
  get peer(): VerifiedPeer | undefined {
    return this.hs.peer;
  }

  /** The link the responder offered (initiator) or offers (responder). */
  get link(): LinkParams | undefined {
    return this.hs.link;
  }

  close(reason: string): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.reason ??= reason;
    for (const t of [this.holdTimer, this.keepaliveTimer, this.handshakeTimer]) if (t !== undefined) this.o.timers.clearTimeout(t);
    this.holdTimer = this.keepaliveTimer = this.handshakeTimer = undefined;
    // end() lets a refusal's Result reach the peer; destroy() follows if it will not go.
    this.o.socket.end();
    const s = this.o.socket;
    const kill = this.o.timers.setTimeout(() => s.destroy(), 1000);
    s.once('close', () => this.o.timers.clearTimeout(kill));
    this.emit('closed', this.reason);
  }

  private onData(chunk: Buffer): void {
    if (this.state === 'closed') return;
    let messages: Envelope[];
    try {
      messages = this.decoder.push(chunk);
    } catch (err) {
      this.close((err as Error).message);
      return;
    }
    for (const m of messages) this.enqueue(() => this.onMessage(m));
  }

  private enqueue(fn: () => Promise<void> | void): void {
    this.work = this.work.then(fn).catch((err: Error) => this.close(`peering failed: ${err.message}`));
  }

  private async onMessage(m: Envelope): Promise<void> {
    if (this.state === 'closed') return;
    this.lastHeard = this.o.clock.now();
    if (this.state === 'established') {
      if ('keepalive' in m) this.armHold();
      else if ('peersRequest' in m || 'peersReply' in m || 'observed' in m || 'candidates' in m || 'registry' in m) {
        this.armHold();
        this.emit('message', m);
      } else this.close(`unexpected ${Object.keys(m)[0]} after the handshake`);
      return;
    }
    const step = await this.hs.receive(m, this.o.clock.now(), this.o.wallClock());
    if (this.state !== 'handshake') return;
    if (step.state === 'Failed') return this.finish(step.send, this.hs.reason ?? 'handshake failed');
    this.sendAll(step.send);
    if (step.state === 'Established') this.established();
  }

  private established(): void {
    this.state = 'established';
    this.wasEstablished = true;
    if (this.handshakeTimer !== undefined) this.o.timers.clearTimeout(this.handshakeTimer);
    this.handshakeTimer = undefined;
    this.armHold();
    this.scheduleKeepalive();
    this.emit('established');
  }

  /** Send on the established session (peer exchange). */
  send(env: Envelope): void {
    if (this.state === 'established') this.sendAll([env]);
  }

  /** Send the last words (a refusal) and close. */
  private finish(send: Envelope[], reason: string): void {
    this.reason = reason;
    this.sendAll(send);
    this.close(reason);
  }

  private sendAll(envs: Envelope[]): void {
    for (const e of envs) {
      if (this.o.socket.destroyed || this.o.socket.writableEnded) return;
      this.o.socket.write(encodeFrame(e));
    }
    if (this.o.socket.writableLength > MAX_UNSENT) this.close('the peer does not read the session');
  }

  private armHold(): void {
    if (this.holdTimer !== undefined) this.o.timers.clearTimeout(this.holdTimer);
    this.holdTimer = this.o.timers.setTimeout(() => {
      this.holdTimer = undefined;
      this.close(`no keepalive for ${Math.round(this.o.holdMs / 1000)} s (hold time)`);
    }, this.o.holdMs);
  }

  private scheduleKeepalive(): void {
    this.keepaliveTimer = this.o.timers.setTimeout(() => {
      this.keepaliveTimer = undefined;
      if (this.state !== 'established') return;
      this.sendAll([{ keepalive: { sentMs: this.o.wallClock() } }]);
      this.scheduleKeepalive();
    }, this.o.keepaliveMs);
  }
}
