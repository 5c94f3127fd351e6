/** Install Debian packages when a server binary is missing (we run as root). */
export function aptInstall(packages: string[]): void {
  console.log(`installing ${packages.join(" ")} from Debian's packages...`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  for (const args of [["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "--no-install-recommends", ...packages]]) {
    const run = Bun.spawnSync(args, { env, stdout: "pipe", stderr: "pipe" });
    if (run.exitCode !== 0) {
      throw new Error(`${args.join(" ")} failed (exit ${run.exitCode}):\n${run.stderr.toString().trim().split("\n").slice(-10).join("\n")}`);
    }
  }
}
