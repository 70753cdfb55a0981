/** `npm run bench`: every benchmark in turn, one line per figure. */
import { formatResult } from './result.js';
import { run as fib } from './fib.bench.js';
import { run as forward } from './forward.bench.js';
import { run as e2e } from './e2e.bench.js';
import { run as latency } from './latency.bench.js';
import { run as spf } from './spf.bench.js';
import { run as ospfConvergence } from './ospf-convergence.bench.js';
import { run as ospfScale } from './ospf-scale.bench.js';
import { run as failover } from './failover.bench.js';
import { run as meshScale } from './mesh-scale.bench.js';
import { run as peering } from './peering.bench.js';
import { run as rpc } from './rpc.bench.js';
import { run as dns } from './dns.bench.js';
import { run as chaos } from './chaos.bench.js';
import { run as soak } from './soak.bench.js';

for (const [name, bench] of [['fib', fib], ['forward', forward], ['e2e', e2e], ['latency', latency], ['spf', spf], ['ospf-convergence', ospfConvergence], ['ospf-scale', ospfScale], ['failover', failover], ['mesh-scale', meshScale], ['peering', peering], ['rpc', rpc], ['dns', dns], ['chaos', chaos], ['soak', soak]] as const) {
  console.log(`# ${name}`);
  for (const r of await bench()) console.log(formatResult(r));
}
for (const r of (console.log('# bird-prefixes'), await (await import('./bird-prefixes.bench.js')).run())) console.log(formatResult(r));
