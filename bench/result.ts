import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** One figure a benchmark reports: printed as `name  value unit` and returned from its run(). */
export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  note?: string;
}

/** The line a benchmark prints for a result, e.g. `fib.lookup.100k  12.3 Mlookups/s`. */
export function formatResult(r: BenchResult): string {
  const v = Math.abs(r.value) >= 100 ? r.value.toFixed(0) : Math.abs(r.value) >= 10 ? r.value.toFixed(1) : r.value.toFixed(2);
  return `${r.name.padEnd(24)} ${v} ${r.unit}${r.note ? `  (${r.note})` : ''}`;
}

/** The V8 garbage collector as a function (exposed at run time if node was not started with --expose-gc). */
export function gcFunction(): () => void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (typeof g === 'function') return g;
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  } catch {
    return () => {};
  }
}
