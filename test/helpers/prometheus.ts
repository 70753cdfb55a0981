/**
 * A checker of the Prometheus text exposition format (version 0.0.4), strict enough to catch what a
 * scraper would refuse: metric and label names, quoted and escaped label values, numeric values, one
 * TYPE per family before its samples, histogram series (_bucket with le, _sum, _count).
 * Returns the samples; throws naming the line otherwise.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

export function checkExposition(text: string): Sample[] {
  const types = new Map<string, string>();
  const seenSamples = new Set<string>();
  const samples: Sample[] = [];
  const lines = text.split('\n');
  if (lines.at(-1) !== '') throw new Error('the exposition must end with a newline');
  lines.forEach((line, i) => {
    const where = `line ${i + 1}: ${JSON.stringify(line)}`;
    if (line === '') return;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!m) return; // a plain comment
      if (!NAME.test(m[2]!)) throw new Error(`bad metric name, ${where}`);
      if (m[1] === 'TYPE') {
        if (!TYPES.has(m[3]!)) throw new Error(`bad type, ${where}`);
        if (types.has(m[2]!)) throw new Error(`second TYPE for ${m[2]}, ${where}`);
        if (seenSamples.has(m[2]!)) throw new Error(`TYPE after samples of ${m[2]}, ${where}`);
        types.set(m[2]!, m[3]!);
      }
      return;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)( -?\d+)?$/.exec(line);
    if (!m) throw new Error(`not a sample, ${where}`);
    const labels: Record<string, string> = {};
    let rest = m[3] ?? '';
    while (rest.length > 0) {
      const l = /^([^=]+)="((?:[^"\\\n]|\\["\\n])*)"(,|$)/.exec(rest);
      if (!l || !LABEL.test(l[1]!)) throw new Error(`bad labels, ${where}`);
      if (l[1]! in labels) throw new Error(`label ${l[1]} twice, ${where}`);
      labels[l[1]!] = l[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
      rest = rest.slice(l[0].length);
    }
    const raw = m[4]!;
    const value = raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : raw === 'NaN' ? NaN : Number(raw);
    if (Number.isNaN(value) && raw !== 'NaN') throw new Error(`bad value, ${where}`);
    const name = m[1]!;
    const family = [name, name.replace(/_(bucket|sum|count)$/, '')].find((f) => types.has(f)) ?? name;
    if (types.get(family) === 'histogram' && name.endsWith('_bucket') && labels['le'] === undefined) throw new Error(`histogram bucket without le, ${where}`);
    seenSamples.add(family);
    samples.push({ name, labels, value });
  });
  return samples;
}
