import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";

export type Jdk = { home: string; java: string; major: number };

function majorOf(home: string): number | undefined {
  const java = join(home, "bin", "java");
  if (!existsSync(java)) return undefined;
  const out = Bun.spawnSync([java, "-version"], { stderr: "pipe" }).stderr.toString();
  const match = out.match(/version "(\d+)(?:\.(\d+))?/);
  if (!match) return undefined;
  // Java 8 and older report "1.8"; everything we care about is 9+.
  return match[1] === "1" ? Number(match[2]) : Number(match[1]);
}

/**
 * The newest JDK on this machine with at least `minMajor`: JAVA_HOME first,
 * then every JDK under /usr/lib/jvm.
 */
export function findJdk(minMajor: number): Jdk {
  const candidates = new Set<string>();
  if (process.env.JAVA_HOME) candidates.add(process.env.JAVA_HOME);
  if (existsSync("/usr/lib/jvm")) {
    for (const entry of readdirSync("/usr/lib/jvm")) candidates.add(join("/usr/lib/jvm", entry));
  }
  const found: Jdk[] = [];
  for (const home of candidates) {
    const major = majorOf(home);
    if (major !== undefined) found.push({ home, java: join(home, "bin", "java"), major });
  }
  found.sort((a, b) => b.major - a.major);
  const best = found[0];
  if (!best || best.major < minMajor) {
    const seen = found.map((j) => `${j.home} (${j.major})`).join(", ") || "none";
    throw new Error(`needs a JDK ${minMajor}+; found: ${seen}. Set JAVA_HOME to one.`);
  }
  return best;
}
