/**
 * Run inside a node's namespace by the MCP test: the SDK's own client over Streamable HTTP to a node's
 * MCP server; lists the tools and resources, calls every tool, reads every resource.
 *   node mcp-probe.js <url> <address to diagnose>
 * Prints one JSON line.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const [url, target] = process.argv.slice(2);
const client = new Client({ name: 'moltnet-test', version: '1.0.0' });
await client.connect(new StreamableHTTPClientTransport(new URL(url!)));
const tools = (await client.listTools()).tools.map((t) => t.name).sort();
const resources = (await client.listResources()).resources.map((r) => r.uri).sort();
const call = async (name: string, args: Record<string, unknown>) => {
  const r = await client.callTool({ name, arguments: args });
  return { isError: r.isError ?? false, value: r.structuredContent ?? (r.content as { text: string }[])[0]?.text };
};
const calls = {
  diagnosis: await call('network_diagnosis', { address: target }),
  notMesh: await call('network_diagnosis', { address: '2001:db8::1' }),
  rfcs: await call('rfc_lookup', {}),
  rfc5880: await call('rfc_lookup', { rfc: 5880 }),
  rfcUnknown: await call('rfc_lookup', { rfc: 1 }),
  topology: await call('topology_map', {}),
};
const reads: Record<string, unknown> = {};
for (const uri of resources) {
  const r = await client.readResource({ uri });
  reads[uri] = JSON.parse((r.contents[0] as { text: string }).text);
}
await client.close();
process.stdout.write(`${JSON.stringify({ tools, resources, calls, reads })}\n`);
