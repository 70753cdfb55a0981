/**
 * The dashboard page served at `/`: its HTML, stylesheet and script as text, so they ship in dist/
 * with the rest (tsc copies no other files). The script draws each snapshot from GET /events: the mesh
 * as a cytoscape graph (edges colored by state, a cut link dashed red), tables of links with their
 * traffic, OSPF neighbors, BFD sessions and routes. Everything shown is set through textContent (names
 * come from other nodes' registry entries, so nothing is parsed as HTML). No inline script, so the
 * page's CSP can forbid it; cytoscape adds one <style> of its own, hence 'unsafe-inline' for styles.
 * `window.moltnetDashboard` holds the graph and the last snapshot, for tests and the curious.
 */

export const DASHBOARD_CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'";

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>MoltNet dashboard</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/dashboard.css">
</head>
<body>
<header>
  <h1>MoltNet</h1>
  <span id="self">connecting...</span>
  <span id="conn" class="conn off">offline</span>
  <span id="updated"></span>
</header>
<main>
  <section id="mesh">
    <h2>Mesh <span id="summary"></span></h2>
    <div id="graph"></div>
    <p class="legend"><span class="k up">adjacency up</span> <span class="k half">one side only</span> <span class="k down">link or BFD down</span> <span class="k unreach">router not reachable</span></p>
  </section>
  <section>
    <h2>Links and traffic</h2>
    <table id="links"><thead><tr><th>link</th><th>state</th><th>peer</th><th>rx pkt/s</th><th>tx pkt/s</th><th>rx/s</th><th>tx/s</th><th>rx/tx pkts</th><th>drops</th></tr></thead><tbody></tbody></table>
    <h2>OSPF neighbors</h2>
    <table id="neighbors"><thead><tr><th>interface</th><th>router id</th><th>state</th><th>address</th><th>up (s)</th></tr></thead><tbody></tbody></table>
    <h2>BFD sessions</h2>
    <table id="bfd"><thead><tr><th>link</th><th>peer</th><th>state</th><th>remote</th><th>diag</th><th>detect (ms)</th></tr></thead><tbody></tbody></table>
    <h2>Routes</h2>
    <table id="routes"><thead><tr><th>prefix</th><th>via</th><th>source</th></tr></thead><tbody></tbody></table>
    <p id="errors"></p>
  </section>
</main>
<script src="/assets/cytoscape.min.js"></script>
<script src="/assets/dashboard.js"></script>
</body>
</html>
`;

export const DASHBOARD_CSS = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1d2330; background: #f5f6f8; }
header { display: flex; gap: 1em; align-items: baseline; padding: .6em 1em; background: #1d2330; color: #fff; }
header h1 { font-size: 1.2em; margin: 0; }
#updated { margin-left: auto; opacity: .7; font-size: .9em; }
.conn { padding: 0 .5em; border-radius: 3px; font-size: .85em; }
.conn.on { background: #2e8b57; } .conn.off { background: #b03a2e; }
main { display: grid; grid-template-columns: minmax(380px, 5fr) minmax(520px, 7fr); gap: 1em; padding: 1em; }
section { background: #fff; border-radius: 6px; padding: .5em 1em 1em; box-shadow: 0 1px 2px rgba(0,0,0,.08); overflow-x: auto; }
h2 { font-size: 1em; margin: .8em 0 .4em; } #summary { font-weight: normal; opacity: .7; }
#graph { width: 100%; height: 480px; border: 1px solid #dde1e6; border-radius: 4px; }
table { border-collapse: collapse; width: 100%; font-size: .9em; }
th, td { text-align: left; padding: .15em .5em; border-bottom: 1px solid #eceef1; white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.st-up, .st-Up, .st-Full { color: #2e8b57; font-weight: 600; }
.st-down, .st-Down, .st-AdminDown { color: #b03a2e; font-weight: 600; }
.legend { font-size: .85em; } .k::before { content: ""; display: inline-block; width: 2em; height: 0; margin-right: .3em; vertical-align: middle; border-top: 3px solid; }
.k.up::before { border-color: #2e8b57; } .k.half::before { border-color: #d4880f; border-top-style: dashed; }
.k.down::before { border-color: #b03a2e; border-top-style: dashed; } .k.unreach::before { border-color: #9aa0a6; border-top-width: 8px; }
#errors { color: #b03a2e; }
@media (max-width: 900px) { main { grid-template-columns: 1fr; } }
`;

export const DASHBOARD_JS = `(function () {
  'use strict';
  var state = { snapshots: 0, last: null, connected: false, cy: null, opens: 0 };
  window.moltnetDashboard = state;
  var $ = function (id) { return document.getElementById(id); };

  var cy = cytoscape({
    container: $('graph'),
    elements: [],
    style: [
      { selector: 'node', style: { 'label': 'data(label)', 'text-wrap': 'wrap', 'text-valign': 'bottom', 'text-margin-y': 6, 'font-size': 10, 'text-background-color': '#fff', 'text-background-opacity': 0.7, 'background-color': '#3b6ea8', 'width': 34, 'height': 34 } },
      { selector: 'node[self = "yes"]', style: { 'background-color': '#1d2330', 'border-width': 3, 'border-color': '#3b6ea8' } },
      { selector: 'node[reachable = "no"]', style: { 'background-color': '#9aa0a6', 'opacity': 0.6 } },
      { selector: 'edge', style: { 'width': 3, 'curve-style': 'bezier', 'label': 'data(label)', 'font-size': 10, 'text-rotation': 'autorotate', 'text-background-color': '#fff', 'text-background-opacity': 0.8, 'line-color': '#2e8b57' } },
      { selector: 'edge[state = "half"]', style: { 'line-color': '#d4880f', 'line-style': 'dashed' } },
      { selector: 'edge[state = "down"]', style: { 'line-color': '#b03a2e', 'line-style': 'dashed' } }
    ],
    layout: { name: 'preset' }
  });
  state.cy = cy;

  function rate(n) { return n === undefined ? '' : (n < 10 ? n.toFixed(1) : Math.round(n).toString()); }
  function bytes(n) {
    if (n === undefined) return '';
    var units = ['B', 'kB', 'MB', 'GB'];
    var i = 0;
    while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
    return (n < 10 && i > 0 ? n.toFixed(1) : Math.round(n).toString()) + ' ' + units[i];
  }

  // Breadth first from this node: its neighbors a step away, theirs two, so a cut shows where it is
  // from here. Run again only when routers or links come or go, so the picture does not jump each second.
  function layout() {
    var self = cy.nodes('[self = "yes"]');
    cy.layout({ name: 'breadthfirst', roots: self.nonempty() ? self : undefined, directed: false, spacingFactor: 1.4, padding: 40, fit: true, animate: false, avoidOverlap: true }).run();
    if (cy.zoom() > 1.6) { cy.zoom(1.6); cy.center(); }
  }

  function syncGraph(g) {
    var keep = {};
    var changed = false;
    cy.batch(function () {
      g.nodes.forEach(function (n) {
        keep[n.id] = true;
        var data = { id: n.id, label: n.label + (n.address ? '\\n' + n.address : ''), name: n.label, address: n.address || '', self: n.self ? 'yes' : 'no', reachable: n.reachable ? 'yes' : 'no' };
        var el = cy.getElementById(n.id);
        if (el.empty()) { cy.add({ group: 'nodes', data: data }); changed = true; } else el.data(data);
      });
      g.edges.forEach(function (e) {
        keep[e.id] = true;
        var label = e.link ? e.link : '';
        if (e.rates) label += (label ? ' ' : '') + rate(e.rates.rxPps + e.rates.txPps) + ' pkt/s';
        if (e.state !== 'up') label += (label ? ' ' : '') + (e.state === 'down' ? '(down)' : '(one side)');
        var data = { id: e.id, source: e.source, target: e.target, state: e.state, link: e.link || '', bfd: e.bfd || '', label: label };
        var el = cy.getElementById(e.id);
        if (el.empty()) { cy.add({ group: 'edges', data: data }); changed = true; } else el.data(data);
      });
      cy.elements().forEach(function (el) { if (!keep[el.id()]) { el.remove(); changed = true; } });
    });
    if (changed) layout();
  }

  function cell(tr, text, cls) {
    var td = document.createElement('td');
    td.textContent = text === undefined || text === null ? '' : String(text);
    if (cls) td.className = cls;
    tr.appendChild(td);
  }
  function fill(id, rows, toCells) {
    var body = $(id).tBodies[0];
    var out = document.createDocumentFragment();
    rows.forEach(function (r) { var tr = document.createElement('tr'); toCells(tr, r); out.appendChild(tr); });
    body.replaceChildren(out);
  }

  function render(s) {
    state.snapshots++;
    state.last = s;
    $('self').textContent = (s.self.name || '?') + '  ' + (s.self.address || '');
    $('updated').textContent = 'updated ' + new Date(s.time).toLocaleTimeString();
    syncGraph(s.graph);
    var up = s.graph.edges.filter(function (e) { return e.state === 'up'; }).length;
    $('summary').textContent = s.graph.nodes.length + ' routers, ' + up + ' of ' + s.graph.edges.length + ' links up' + (s.graph.source === 'links' ? ' (no OSPF: own links only)' : '');
    fill('links', s.links, function (tr, l) {
      var r = l.rates || {};
      cell(tr, l.name + (l.kind ? ' (' + l.kind + ')' : '')); cell(tr, l.state, 'st-' + l.state); cell(tr, l.peer);
      cell(tr, rate(r.rxPps), 'num'); cell(tr, rate(r.txPps), 'num'); cell(tr, bytes(r.rxBps), 'num'); cell(tr, bytes(r.txBps), 'num');
      cell(tr, l.counters.rx_packets + ' / ' + l.counters.tx_packets, 'num'); cell(tr, l.counters.rx_drops + l.counters.tx_drops, 'num');
    });
    fill('neighbors', s.neighbors, function (tr, n) { cell(tr, n.interface); cell(tr, n.routerId); cell(tr, n.state, 'st-' + n.state); cell(tr, n.address); cell(tr, n.uptime, 'num'); });
    fill('bfd', s.bfd, function (tr, b) { cell(tr, b.link); cell(tr, b.peer); cell(tr, b.state, 'st-' + b.state); cell(tr, b.remoteState, 'st-' + b.remoteState); cell(tr, b.diag); cell(tr, b.detectionTimeMs, 'num'); });
    fill('routes', s.routes, function (tr, r) { cell(tr, r.prefix); cell(tr, r.via.join(', ')); cell(tr, r.source); });
    var errs = Object.keys(s.errors || {}).map(function (k) { return k + ': ' + s.errors[k]; });
    $('errors').textContent = errs.length ? 'not shown: ' + errs.join('; ') : '';
  }

  function setConn(on) {
    state.connected = on;
    var c = $('conn');
    c.textContent = on ? 'live' : 'offline';
    c.className = 'conn ' + (on ? 'on' : 'off');
  }

  // EventSource reconnects by itself after a dropped stream (the server's retry: field); a refused
  // one (503: too many dashboards) closes for good, so try again later ourselves.
  function connect() {
    var es = new EventSource('/events');
    es.addEventListener('open', function () { state.opens++; setConn(true); });
    es.addEventListener('snapshot', function (ev) { render(JSON.parse(ev.data)); });
    es.addEventListener('error', function () {
      setConn(false);
      if (es.readyState === EventSource.CLOSED) setTimeout(connect, 10000);
    });
  }
  connect();
})();
`;
