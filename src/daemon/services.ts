/**
 * The daemon's services, in start order (a service may ask for one listed before it). A new service
 * is written against the contract in controlplane/service.ts and added here; nothing else changes.
 */
import type { MoltnetConfig } from '../config/schema.js';
import type { ServiceDefinition } from '../controlplane/service.js';
import { BfdService } from '../controlplane/bfd/service.js';
import { OspfService } from '../controlplane/ospf/service.js';
import { IdentityService, type IdentitySection } from '../controlplane/identity/service.js';
import { PeeringService, type PeeringSection } from '../controlplane/peering/service.js';
import { DiscoveryService, type DiscoverySection } from '../controlplane/discovery/service.js';
import { HttpService, type HttpSection } from '../services/http/service.js';
import { DnsService, type DnsSection } from '../services/dns/service.js';
import { RpcService, type RpcSection } from '../services/rpc/service.js';
import { McpService, type McpSection } from '../services/mcp/service.js';
import { McpProxyService, type McpProxySection } from '../services/mcp/proxy.js';
import { PORTS } from '../common/ports.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyServiceDefinition = ServiceDefinition<MoltnetConfig, any>;

export const SERVICES: readonly AnyServiceDefinition[] = [
  {
    name: 'identity',
    section: (c): IdentitySection => ({ identity: c.identity, name: c.name }),
    enabled: () => true,
    create: () => new IdentityService(),
    disabledHint: 'MoltID is not running on this node',
  },
  {
    // Always on: it is also how peers without authentication get their links (peers[].authenticate).
    name: 'peering',
    section: (c): PeeringSection => ({
      peering: c.peering,
      deadInterval: c.ospf.deadInterval,
      wireguard: c.wireguard,
      discovery: c.discovery,
      discovering: c.discovery.lan || c.discovery.exchange || process.env[c.moltbook.apiKeyEnv] !== undefined,
      name: c.name,
      services: (['rpc', 'mcp', 'dns'] as const).filter((s) => c.services[s]),
    }),
    enabled: () => true,
    create: () => new PeeringService(),
    disabledHint: 'peering is not running on this node',
  },
  {
    name: 'discovery',
    section: (c): DiscoverySection => ({
      moltbook: c.moltbook,
      discovery: c.discovery,
      underlayListen: c.underlay.listen,
      tunName: c.interface.name,
      name: c.name,
      relay: c.peering.relay,
      apiKey: process.env[c.moltbook.apiKeyEnv] || undefined,
    }),
    enabled: () => true,
    create: () => new DiscoveryService(),
    disabledHint: 'discovery is not running on this node',
  },
  {
    name: 'bfd',
    section: (c) => c.bfd,
    enabled: (s: MoltnetConfig['bfd']) => s.enabled,
    create: () => new BfdService(),
    disabledHint: 'BFD is not running on this node (bfd.enabled: false)',
  },
  {
    name: 'ospf',
    section: (c) => c.ospf,
    enabled: (s: MoltnetConfig['ospf']) => s.enabled,
    create: () => new OspfService(),
    disabledHint: 'OSPF is not running on this node (ospf.enabled: false)',
  },
  {
    name: 'rpc',
    section: (c): RpcSection & { enabled: boolean } => ({
      enabled: c.services.rpc,
      port: PORTS.rpc,
      name: c.name,
      handlers: c.services.rpcHandlers,
      defaultHandler: c.services.rpcDefaultHandler,
      ratePerSource: c.services.rpcRatePerSource,
      serve: c.services.rpcServe ?? (c.identity.backend === 'minima' ? 'contacts' : 'everyone'),
    }),
    enabled: (s: { enabled: boolean }) => s.enabled,
    create: () => new RpcService(),
    disabledHint: 'agent RPC is off on this node (services.rpc)',
  },
  {
    name: 'mcp',
    section: (c): McpSection & { enabled: boolean } => ({ enabled: c.services.mcp, port: PORTS.mcp }),
    enabled: (s: { enabled: boolean }) => s.enabled,
    create: () => new McpService(),
    disabledHint: 'MCP is off on this node (services.mcp)',
  },
  {
    name: 'mcp-proxy',
    section: (c): McpProxySection & { enabled: boolean } => ({ enabled: c.services.mcpProxy, listen: c.services.mcpProxyListen, targetPort: PORTS.mcp }),
    enabled: (s: { enabled: boolean }) => s.enabled,
    create: () => new McpProxyService(),
    disabledHint: 'the MCP proxy is off on this node (services.mcpProxy)',
  },
  {
    name: 'dns',
    section: (c): DnsSection => ({ enabled: c.services.dns, port: PORTS.dns, name: c.name, tunName: c.interface.name, ratePerSource: c.services.dnsRatePerSource }),
    enabled: (s: DnsSection) => s.enabled,
    create: () => new DnsService(),
    disabledHint: 'mesh DNS is off on this node (services.dns)',
  },
  {
    // Last: it serves what the others registered.
    name: 'http',
    section: (c): HttpSection & { enabled: boolean } => ({ listen: c.services.httpListen, enabled: c.services.http }),
    enabled: (s: { enabled: boolean }) => s.enabled,
    create: () => new HttpService(),
    disabledHint: 'the REST API is off on this node (services.http)',
  },
];
