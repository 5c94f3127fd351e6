import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runtimePath } from "./paths.ts";
import { runToEnd } from "./proc.ts";

export type Artifact = { groupId: string; artifactId: string; version: string };

/**
 * Resolve artifacts and their runtime dependencies from Maven Central into
 * .runtime/jars/<name>, once: a `.complete` marker makes later calls free.
 */
export async function resolveJars(name: string, artifacts: Artifact[]): Promise<string> {
  const target = runtimePath("jars", name);
  if (existsSync(join(target, ".complete"))) return target;
  rmSync(target, { recursive: true, force: true });
  mkdirSync(target, { recursive: true });
  const work = runtimePath("maven", name);
  mkdirSync(work, { recursive: true });
  const deps = artifacts
    .map(
      (a) =>
        `<dependency><groupId>${a.groupId}</groupId><artifactId>${a.artifactId}</artifactId><version>${a.version}</version></dependency>`,
    )
    .join("\n    ");
  writeFileSync(
    join(work, "pom.xml"),
    `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.cdp.stack</groupId>
  <artifactId>${name}</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    ${deps}
  </dependencies>
</project>
`,
  );
  console.log(`fetching ${artifacts.map((a) => `${a.artifactId}:${a.version}`).join(", ")} from Maven Central...`);
  await runToEnd(
    [
      "mvn",
      "-B",
      "-q",
      "-f",
      join(work, "pom.xml"),
      "dependency:copy-dependencies",
      "-DincludeScope=runtime",
      `-DoutputDirectory=${target}`,
    ],
    `mvn resolving ${name}`,
  );
  if (readdirSync(target).length === 0) throw new Error(`mvn resolved no jars for ${name}`);
  writeFileSync(join(target, ".complete"), new Date().toISOString());
  return target;
}
