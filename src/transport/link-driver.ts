/**
 * The contract between the link manager (daemon) and the link kinds' control-side drivers: a driver
 * turns a request (a peer's or a kernel link's config) into the hot-path link's description and an
 * undo; the manager assigns ids and tells the forwarding plane (LinkPlane).
 */
import type { Port } from '../dataplane/engine.js';
import type { LinkSpec } from './link-spec.js';

/** The driver that makes a link; a wireguard link is a VXLAN link (spec kind 'vxlan') over wireguard-go. */
export type LinkKind = LinkSpec['kind'] | 'wireguard';
/** Where a link came from: the config, `peer add`, discovery (Moltbook, LAN, exchange, an inbound peer), a kernel link. */
export type LinkOrigin = 'config' | 'runtime' | 'discovered' | 'kernel';

/** What the forwarding plane must do for links; the real one is the worker's handle. */
export interface LinkPlane {
  addPort(id: number, port: Port): void;
  removePort(id: number): void;
  addLink(spec: LinkSpec): void;
  removeLink(id: number): void;
  /** Senders awaiting authentication (peering), dropped as drop_unauthenticated until their link exists. */
  addPendingPeer?(port: number, remote: Uint8Array): void;
  removePendingPeer?(port: number, remote: Uint8Array): void;
}

/** What a driver made of a link request: the hot-path description and how to undo it. */
export interface PreparedLink {
  /** Everything of the spec but the ids, which the manager assigns. */
  spec: Omit<LinkSpec, 'id' | 'port'> & { port?: number };
  /** A port of the link's own (a kernel link's TUN): added before the link, removed after it. */
  ownPort?: Port;
  /** Fields for `show links`. */
  describe: Record<string, unknown>;
  /** Free what prepare() took (close a TUN fd...). */
  close(): Promise<void> | void;
}

export interface LinkRequest {
  name: string;
  kind: LinkKind;
  origin: LinkOrigin;
  cost: number;
  /** Opaque to the manager: what the driver needs (a peer's config, a kernel link's config). */
  params: unknown;
  /**
   * Down reasons the link starts with: it forwards nothing routed until whoever owns the reason clears it
   * (a hole-punched link is held down as 'bfd' until BFD proves the path).
   */
  holdDown?: readonly string[];
  /** The peer proved in the peering handshake that it is a MoltNet node (so it runs BFD unless it is off there). */
  authenticated?: boolean;
}

/** A control-side driver per link kind. */
export interface LinkDriver {
  readonly kind: LinkKind;
  prepare(req: LinkRequest): Promise<PreparedLink>;
  /** Where the link's packets will come from (port id, address record), before the link exists. */
  underlay?(req: LinkRequest): Promise<{ port: number; remote: Uint8Array }>;
}

