/**
 * Run inside a node's namespace by the dashboard test: headless Chromium (playwright-core, Debian's
 * /usr/bin/chromium) opens the node's dashboard and reports what the page shows.
 *   node dashboard-probe.js <url> <screenshot dir> <routers> <links up> <min open ms>
 * Prints one JSON line per phase:
 *   {"phase":"ready",...}    the graph shows <routers> routers, all reachable, and <links up> links up (a
 *                            screenshot taken);
 *                            the test now cuts a link
 *   {"phase":"changed",...}  fewer links are up than before (another screenshot), after the page has been
 *                            open at least <min open ms>, so the stream is seen to outlive the server's
 *                            request timeout
 *   {"phase":"failed",...}   a wait ran out; what the page showed last
 * Every wait is bounded; the browser is closed on every path.
 */
import { join } from 'node:path';
import { chromium, type Page } from 'playwright-core';

const [url, dir, routersArg, upArg, minOpenArg] = process.argv.slice(2);
const routers = Number(routersArg);
const up = Number(upArg);
const minOpenMs = Number(minOpenArg ?? 0);
const READY_MS = 30_000;
const CHANGE_MS = 30_000;

interface Seen {
  nodes: { name: string; address: string; self: boolean; reachable: boolean }[];
  edges: { source: string; target: string; state: string; link: string }[];
  rows: Record<string, number>;
  summary: string;
  connected: boolean;
  opens: number;
  snapshots: number;
  linkRates: unknown[];
}

const consoleErrors: string[] = [];
const print = (o: Record<string, unknown>) => process.stdout.write(`${JSON.stringify({ ...o, consoleErrors })}\n`);

/** What the page shows: the graph's elements (names, not router ids) and the tables' row counts. */
async function seen(page: Page): Promise<Seen | undefined> {
  return page
    .evaluate(() => {
      const d = (window as unknown as { moltnetDashboard?: { cy: any; connected: boolean; opens: number; snapshots: number; last: any } }).moltnetDashboard;
      if (!d) return undefined;
      const name = (id: string) => d.cy.getElementById(id).data('name') as string;
      const rows: Record<string, number> = {};
      for (const t of ['links', 'neighbors', 'bfd', 'routes']) rows[t] = document.querySelectorAll(`#${t} tbody tr`).length;
      return {
        nodes: d.cy.nodes().map((n: any) => ({ name: n.data('name'), address: n.data('address'), self: n.data('self') === 'yes', reachable: n.data('reachable') === 'yes' })),
        edges: d.cy.edges().map((e: any) => ({ source: name(e.data('source')), target: name(e.data('target')), state: e.data('state'), link: e.data('link') })),
        rows,
        summary: document.getElementById('summary')?.textContent ?? '',
        connected: d.connected,
        opens: d.opens,
        snapshots: d.snapshots,
        linkRates: (d.last?.links ?? []).map((l: any) => l.rates ?? null),
      };
    })
    .catch(() => undefined);
}

const upCount = (s: Seen | undefined) => s?.edges.filter((e) => e.state === 'up').length ?? -1;

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--no-first-run'],
  timeout: 20_000,
});
let code = 0;
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (err) => consoleErrors.push(`uncaught: ${err.message}`));
  page.on('requestfailed', (r) => {
    // The page closing its own event stream at the end is not a failure of the page.
    if (!r.url().endsWith('/events')) consoleErrors.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`);
  });
  const opened = Date.now();
  await page.goto(url!, { waitUntil: 'load', timeout: 15_000 });
  const ready = await page
    .waitForFunction(
      ([n, u]) => {
        const d = (window as unknown as { moltnetDashboard?: { cy: any; last: any } }).moltnetDashboard;
        // Every router reachable (a mesh still settling, or flapping under load, is not ready), and
        // rates, which need two samples, so the traffic table is seen filled.
        return (
          d?.cy &&
          d.cy.nodes().length === n &&
          d.cy.nodes('[reachable = "no"]').length === 0 &&
          d.cy.edges('[state = "up"]').length === u &&
          (d.last?.links ?? []).every((l: any) => l.rates)
        );
      },
      [routers, up] as const,
      { timeout: READY_MS, polling: 200 },
    )
    .then(() => true)
    .catch(() => false);
  const before = join(dir!, 'dashboard-before.png');
  await page.screenshot({ path: before, fullPage: true });
  if (!ready) {
    print({ phase: 'failed', waiting: 'ready', seen: await seen(page), screenshot: before });
    code = 1;
  } else {
    print({ phase: 'ready', seen: await seen(page), screenshot: before });
    const changed = await page
      .waitForFunction((u) => (window as unknown as { moltnetDashboard: { cy: any } }).moltnetDashboard.cy.edges('[state = "up"]').length < u, up, { timeout: CHANGE_MS, polling: 200 })
      .then(() => true)
      .catch(() => false);
    const wait = minOpenMs - (Date.now() - opened);
    if (changed && wait > 0) await page.waitForTimeout(wait);
    // Let one more snapshot land, so what is shown is settled past the change.
    const s = await seen(page);
    if (changed && s) await page.waitForFunction((n) => (window as unknown as { moltnetDashboard: { snapshots: number } }).moltnetDashboard.snapshots > n, s.snapshots, { timeout: 5000 }).catch(() => undefined);
    const after = join(dir!, 'dashboard-after.png');
    await page.screenshot({ path: after, fullPage: true });
    const last = await seen(page);
    print({ phase: changed ? 'changed' : 'failed', waiting: changed ? undefined : 'change', seen: last, upBefore: up, upAfter: upCount(last), openMs: Date.now() - opened, screenshot: after });
    if (!changed) code = 1;
  }
} finally {
  await browser.close();
}
process.exit(code);
