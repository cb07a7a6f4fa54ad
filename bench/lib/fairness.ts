// Fairness on one layer: an ordinary guest (net_probe: 1-byte round trips to
// an echo server guest, and a name resolution the host thread serves) runs
// beside a neighbour that floods one kind of work (socket churn, refused
// connects, resolves, UDP, a backlog, stdout). Its p50/p99/max latencies are
// compared with the same probe on a quiet layer. Goal: p99 at most 2x the
// quiet one, and no stall (a single operation) over 10 ms.

import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Layer, run } from '../../src/api/index.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const benchGuest = (name: string): string => path.join(ROOT, 'bench/guests', `${name}.wasm`);

const P99_GOAL = 2;
const STALL_GOAL_MS = 10;
const PORT = 7001;

export interface Latency { p50: number; p99: number; max: number }
export interface FairnessResult {
  id: string;
  title: string;
  /** Nanoseconds, medians over the rounds of each figure. */
  rtt?: Latency;
  call?: Latency;
  error?: string;
}

const FLOODS: { id: string; title: string; args: string[] }[] = [
  { id: 'quiet', title: 'no neighbour (the baseline)', args: [] },
  { id: 'churn', title: 'socket churn (open, close)', args: ['churn'] },
  { id: 'connect', title: 'refused connects', args: ['connect', 'pong', '9'] },
  { id: 'resolve', title: 'name resolutions', args: ['resolve', 'pong'] },
  { id: 'udp', title: 'UDP to an unbound port', args: ['udp', 'pong', '9'] },
  { id: 'backlog', title: 'backlog flood', args: ['backlog', '7100'] },
  { id: 'lines', title: 'stdout lines', args: ['lines'] },
];

const discard = (): Writable => new Writable({ write(_c, _e, done) { done(); } });

/** One round: pong and probe (and the flooder, unless quiet) on a fresh layer. */
async function once(flood: string[], rounds: number): Promise<{ rtt: Latency; call: Latency }> {
  const layer = new Layer({ mode: 'secure' });
  for (const g of ['pong', 'probe', ...(flood.length ? ['flood'] : [])]) layer.addGuest(g);
  await layer.start();
  const stop = new AbortController();
  try {
    const flooder = flood.length
      ? run(benchGuest('net_flood'), { layer, name: 'flood', args: flood, stdout: discard(), stderr: discard(), signal: stop.signal })
      : undefined;
    const pong = run(benchGuest('net_pong'), { layer, name: 'pong', args: [String(PORT)], stdout: discard(), stderr: discard() });
    const probe = await run(benchGuest('net_probe'), { layer, name: 'probe', args: ['pong', String(PORT), String(rounds)], stdout: 'capture', stderr: 'capture' });
    stop.abort();
    await Promise.all([pong, flooder]);
    const out = probe.stdout?.toString() ?? '';
    const m = /^rtt p50 (\d+) p99 (\d+) max (\d+) call p50 (\d+) p99 (\d+) max (\d+)$/m.exec(out);
    if (!m) throw new Error(`probe: ${JSON.stringify(probe.outcome)} ${out}${probe.stderr?.toString() ?? ''}`);
    const n = m.slice(1).map(Number);
    return { rtt: { p50: n[0]!, p99: n[1]!, max: n[2]! }, call: { p50: n[3]!, p99: n[4]!, max: n[5]! } };
  } finally {
    stop.abort();
    layer.close();
  }
}

const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const medLatency = (ls: Latency[]): Latency => ({ p50: med(ls.map((l) => l.p50)), p99: med(ls.map((l) => l.p99)), max: med(ls.map((l) => l.max)) });

export async function fairnessBenchmarks(o: { rounds: number; probeRounds: number; status: (t: string) => void }): Promise<FairnessResult[]> {
  const out: FairnessResult[] = [];
  for (const f of FLOODS) {
    const rtts: Latency[] = [];
    const calls: Latency[] = [];
    const r: FairnessResult = { id: f.id, title: f.title };
    try {
      for (let i = 0; i < o.rounds; i++) {
        o.status(`fairness: ${f.title} (${i + 1}/${o.rounds})`);
        const x = await once(f.args, o.probeRounds);
        rtts.push(x.rtt);
        calls.push(x.call);
      }
      r.rtt = medLatency(rtts);
      r.call = medLatency(calls);
    } catch (err) {
      r.error = (err as Error).message;
    }
    out.push(r);
  }
  o.status('');
  return out;
}

export function printFairness(results: FairnessResult[]): void {
  const quiet = results.find((r) => r.id === 'quiet');
  const us = (ns: number): string => (ns / 1000).toFixed(ns < 100_000 ? 1 : 0);
  console.log(`\nFairness: a probe guest's latency (µs, p50 / p99 / max) beside a flooding neighbour; goal p99 <= ${P99_GOAL}x quiet, max < ${STALL_GOAL_MS} ms:`);
  console.log('| neighbour floods | round trip | p99 vs quiet | host call (resolve) | p99 vs quiet | met |');
  console.log('|---|---|---|---|---|---|');
  for (const r of results) {
    if (!r.rtt || !r.call) { console.log(`| ${r.title} | FAILED (${r.error}) | | | | |`); continue; }
    const ratio = (a: number, b: number | undefined): string => (b ? `${(a / b).toFixed(2)}x` : '-');
    const ok = !quiet?.rtt || !quiet.call ? '-'
      : r.rtt.p99 <= P99_GOAL * quiet.rtt.p99 && r.call.p99 <= P99_GOAL * quiet.call.p99 &&
        Math.max(r.rtt.max, r.call.max) < STALL_GOAL_MS * 1e6 ? 'yes' : 'no';
    console.log(`| ${r.title} | ${us(r.rtt.p50)} / ${us(r.rtt.p99)} / ${us(r.rtt.max)} | ${ratio(r.rtt.p99, quiet?.rtt?.p99)} | ` +
      `${us(r.call.p50)} / ${us(r.call.p99)} / ${us(r.call.max)} | ${ratio(r.call.p99, quiet?.call?.p99)} | ${ok} |`);
  }
}
