/**
 * The MCP tools and resources on the official SDK's server (service.ts has the listener and loads this
 * module when the MCP service starts: the SDK and zod are large, and a node without MCP never needs them).
 */
import { z } from 'zod';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { VERSION } from '../../common/version.js';
import { RFCS } from './rfcs.js';

export { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';

/** What the tools need of the service. */
export interface McpTools {
  readonly counters: { tool_calls: number; resource_reads: number };
  query(name: string): Promise<unknown>;
  diagnose(address: string): Promise<Record<string, unknown>>;
}

/** The tools and resources, on a fresh SDK server (one per request in stateless mode). */
export function mcpServer(tools: McpTools): McpServer {
  const server = new McpServer({ name: 'moltnet', version: VERSION });
  const json = (v: unknown) => ({ content: [{ type: 'text' as const, text: JSON.stringify(v, null, 1) }], structuredContent: v as Record<string, unknown> });
  const query = (name: string) => tools.query(name);

  server.registerTool(
    'network_diagnosis',
    {
      description: 'Reachability, path and round-trip time from this node to a MoltNet address (fd00:6d6f:6c74::/48)',
      inputSchema: { address: z.string().describe('a MoltNet mesh address') },
    },
    async ({ address }) => {
      tools.counters.tool_calls++;
      return json(await tools.diagnose(address));
    },
  );
  server.registerTool(
    'rfc_lookup',
    {
      description: 'The RFCs the MoltNet spec builds on (its Appendix A): title, relevance, and what this node implements of each',
      inputSchema: { rfc: z.number().int().positive().optional().describe('one RFC number; all of them when left out') },
    },
    async ({ rfc }) => {
      tools.counters.tool_calls++;
      if (rfc === undefined) return json({ rfcs: RFCS });
      const hit = RFCS.find((r) => r.rfc === rfc);
      if (!hit) return { content: [{ type: 'text' as const, text: `RFC ${rfc} is not among the spec's references (${RFCS.map((r) => r.rfc).join(', ')})` }], isError: true };
      return json(hit);
    },
  );
  server.registerTool('topology_map', { description: 'The mesh as this node\'s OSPF link-state database has it: routers (with their addresses) and adjacencies' }, async () => {
    tools.counters.tool_calls++;
    return json((await query('ospf topology')) ?? { routers: [], edges: [], note: 'OSPF is off on this node' });
  });

  const resource = (name: string, description: string, read: () => Promise<unknown>) =>
    server.registerResource(name, `moltnet://${name}`, { description, mimeType: 'application/json' }, async (uri) => {
      tools.counters.resource_reads++;
      return { contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(await read(), null, 1) }] };
    });
  resource('routing_table', 'The routes this node forwards by (the RIB\'s winners: connected, static, OSPF)', () => query('routes'));
  resource('neighbor_state', 'OSPF neighbors and BFD sessions', async () => ({ ospf: await query('ospf neighbors'), bfd: await query('bfd') }));
  resource('interface_stats', 'Every link with its state and packet, byte and drop counters', () => query('links'));
  return server;
}
