/**
 * Chaos benchmark: the chaos test (test/integration/chaos.test.ts: 8 daemons, ring with two chords, one
 * random fault per round: SIGKILL and restart, nftables cut, 20% loss, a link flapping every second) run
 * for BENCH_CHAOS_ROUNDS rounds (default 30, the full run), and its figures: per fault kind, the
 * median and worst recovery time (the longest reply gap of any live pair during the fault), and the
 * packets that ran out of hop limit (forwarding loops: must be 0).
 *
 *   node dist/bench/chaos.bench.js        (root; about 6 minutes for 30 rounds)
 *
 * Traffic only inside the namespaces the test makes.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { formatResult, type BenchResult } from './result.js';

const ROUNDS = Math.max(1, Number(process.env['BENCH_CHAOS_ROUNDS'] ?? 30));
const TEST = join(dirname(fileURLToPath(import.meta.url)), '..', 'test', 'integration', 'chaos.test.js');

export async function run(): Promise<BenchResult[]> {
  const out = await new Promise<{ code: number | null; text: string }>((resolve) => {
    const child = spawn(process.execPath, ['--test', '--test-reporter=spec', TEST], {
      env: { ...process.env, MOLTNET_CHAOS: '1', MOLTNET_CHAOS_ROUNDS: String(ROUNDS) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let text = '';
    child.stdout.on('data', (d: Buffer) => {
      text += d.toString();
      for (const line of d.toString().split('\n')) if (line.startsWith('# round')) console.log(line);
    });
    child.stderr.on('data', (d: Buffer) => (text += d.toString()));
    // 30 rounds take ~6 min; a wedged run must not hold the whole bench.
    const timer = setTimeout(() => child.kill('SIGTERM'), (120 + ROUNDS * 30) * 1000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, text });
    });
  });
  const results: BenchResult[] = [];
  for (const m of out.text.matchAll(/^# (\w+): (\d+) rounds, median (\d+) ms, worst (\d+) ms$/gm)) {
    results.push({ name: `chaos.${m[1]}.median`, value: Number(m[3]), unit: 'ms', note: `${m[2]} rounds` });
    results.push({ name: `chaos.${m[1]}.worst`, value: Number(m[4]), unit: 'ms' });
  }
  const loops = [...out.text.matchAll(/^# round \d+: (\d+) packets ran out of hop limit/gm)].reduce((s, m) => s + Number(m[1]), 0);
  results.push({ name: 'chaos.loops', value: loops, unit: 'packets', note: 'expired hop limit during the rounds (a forwarding loop)' });
  results.push({ name: 'chaos.passed', value: out.code === 0 ? 1 : 0, unit: '', note: out.code === 0 ? `${ROUNDS} rounds, every bound held` : `the test failed (exit ${out.code}): ${out.text.split('\n').filter((l) => l.includes('Error')).slice(0, 2).join(' | ')}` });
  return results;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const r of await run()) console.log(formatResult(r));
}
