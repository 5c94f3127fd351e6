import { STAGES, type StageTimes, stageShares } from "../../workers/runtime/stage-times.ts";

/** A port no one listens on now, for a worker process's status endpoint. */
export function freePort(): number {
  const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const { port } = server;
  server.stop(true);
  return port;
}

/** CPU seconds a process has used so far (user + system), from /proc. */
async function cpuSecondsOf(pid: number): Promise<number> {
  const stat = await Bun.file(`/proc/${pid}/stat`).text();
  // Fields after the command's closing parenthesis; utime and stime are the 14th and 15th of the line.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** CPU seconds of a process and its children so far (an API with API_PROCESSES > 1 is a parent and its children). */
export async function treeCpuSecondsOf(pid: number): Promise<number> {
  const children = (await Bun.file(`/proc/${pid}/task/${pid}/children`).text()).split(" ").filter(Boolean).map(Number);
  const all = await Promise.all([cpuSecondsOf(pid), ...children.map(treeCpuSecondsOf)]);
  return all.reduce((a, b) => a + b, 0);
}

async function statusOf(port: number, worker: string) {
  const status = (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as {
    workers: Record<string, { stages?: StageTimes; records?: number }>;
  };
  const stats = status.workers[worker];
  if (!stats?.stages) throw new Error(`the status on port ${port} has no stage times for ${worker}`);
  return { stages: stats.stages, records: stats.records ?? 0 };
}

/** A worker's stage times as its process's status endpoint reports them. */
const stageTimesOf = async (port: number, worker: string) => (await statusOf(port, worker)).stages;

/**
 * Wait until a worker's status counts at least `atLeast` records folded
 * (counted once its store committed them); returns the count. With 1: its
 * first folded chunk, which for a worker with a trailing sink, whose consumer
 * offsets wait for search, is when its store starts moving.
 */
export async function foldedRecords(port: number, worker: string, atLeast = 1): Promise<number> {
  for (;;) {
    const records = await statusOf(port, worker).then(
      (s) => s.records,
      () => 0,
    );
    if (records >= atLeast) return records;
    await Bun.sleep(20);
  }
}

/**
 * Where a worker's time went during a timed stretch: mark its stage times
 * when the clock starts, and `shares()` when it stops gives each stage's
 * percentage of the time spent in between, as a table row and as figures,
 * beside how busy its process was (a worker near 100% of a core is CPU-bound;
 * one well below waits on its servers).
 */
export async function stageWatch(port: number, worker: string, pid: number) {
  const before = await stageTimesOf(port, worker);
  const cpuBefore = await cpuSecondsOf(pid);
  const started = performance.now();
  const startedAt = Date.now();
  return {
    async shares(figure: string) {
      const after = await stageTimesOf(port, worker);
      const cpu = (await cpuSecondsOf(pid)) - cpuBefore;
      const wall = (performance.now() - started) / 1000;
      const shares = stageShares(before, after);
      const milliseconds = Object.fromEntries(STAGES.map((s) => [s, after[s] - before[s]])) as StageTimes;
      const ranked = STAGES.filter((s) => shares[s] >= 0.5).sort((a, b) => shares[b] - shares[a]);
      const row = {
        figure: `${figure}: where its time went`,
        value: ranked.map((s) => `${s} ${shares[s].toFixed(0)}%`).join(", "),
        baseline: "-",
        ratio: `process CPU ${((100 * cpu) / wall).toFixed(0)}% of a core over ${wall.toFixed(1)} s`,
      };
      console.log(`  ${row.figure}: ${row.value}`);
      // Epoch times of the stretch, to cut it out of a CPU profile (`bun run bench --profile`).
      return { row, shares, milliseconds, cpuSeconds: cpu, wallSeconds: wall, from: startedAt, to: Date.now() };
    },
  };
}

/** The machine's busy and total CPU ticks so far, from /proc/stat. */
async function machineTicks() {
  const cpu = (await Bun.file("/proc/stat").text()).split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = cpu[3]! + cpu[4]!;
  const total = cpu.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/**
 * Wait (up to `timeoutMs`) until the machine's cores are less than
 * `busyShare` busy over a second, so the background work of what a scenario
 * just did (OpenSearch merging 100K freshly indexed documents took a core
 * for ~7 s) slows neither a figure nor its baseline. Returns the seconds
 * waited.
 */
export async function waitMachineQuiet(busyShare = 0.25, timeoutMs = 30_000): Promise<number> {
  const started = performance.now();
  for (;;) {
    const before = await machineTicks();
    await Bun.sleep(1000);
    const after = await machineTicks();
    const share = (after.busy - before.busy) / Math.max(1, after.total - before.total);
    const waited = (performance.now() - started) / 1000;
    if (share < busyShare || waited * 1000 >= timeoutMs) return waited;
  }
}
