/**
 * The forwarding plane's counters as Prometheus metrics, read from the shared counter arrays when
 * scraped (nothing is counted twice, nothing runs per packet):
 *   moltnet_link_<counter>_total{link}   per link: rx/tx packets and bytes, rx/tx drops
 *   moltnet_dataplane_total{counter}     per node: every NODE_COUNTERS entry (verdicts, drops by reason)
 */
import { Counter, type Registry } from 'prom-client';
import { LINK_COUNTERS, NODE_COUNTERS, linkCountersObject, nodeCounter, type Counters } from '../dataplane/counters.js';
import type { LinkManager } from '../controlplane/link-manager.js';

export function registerPlaneMetrics(registry: Registry, counters: Counters, links: LinkManager): void {
  for (const name of LINK_COUNTERS) {
    const m: Counter<'link'> = new Counter({
      name: `moltnet_link_${name}_total`,
      help: `Per link: ${name.replace('_', ' ')}`,
      labelNames: ['link'],
      registers: [registry],
      collect() {
        m.reset();
        for (const l of links.list()) m.inc({ link: l.name }, linkCountersObject(counters, l.id)[name]);
      },
    });
  }
  const node: Counter<'counter'> = new Counter({
    name: 'moltnet_dataplane_total',
    help: 'The forwarding plane\'s node counters: verdicts, and drops by reason',
    labelNames: ['counter'],
    registers: [registry],
    collect() {
      node.reset();
      NODE_COUNTERS.forEach((n, i) => node.inc({ counter: n }, nodeCounter(counters, i)));
    },
  });
}
