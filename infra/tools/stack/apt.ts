import { runToEnd } from "./proc.ts";

/** Install Debian packages when a server binary is missing (the stack runs as root). */
export async function aptInstall(packages: string[]): Promise<void> {
  console.log(`installing ${packages.join(" ")} from Debian's packages...`);
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  await runToEnd(["apt-get", "update", "-q"], "apt-get update", env);
  await runToEnd(
    ["apt-get", "install", "-y", "-q", "--no-install-recommends", ...packages],
    `apt-get install ${packages.join(" ")}`,
    env,
  );
}
