import { config } from "./config.ts";

type Level = "debug" | "info" | "warn" | "error";
const rank: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type Logger = Record<Level, (message: string, fields?: Record<string, unknown>) => void>;

/** Plain one-line logs: `time level component message {fields}`, on stderr. */
export function logger(component: string): Logger {
  const write = (level: Level) => (message: string, fields?: Record<string, unknown>) => {
    if (rank[level] < rank[config().LOG_LEVEL]) return;
    const extra = fields && Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields)}` : "";
    process.stderr.write(`${new Date().toISOString()} ${level.padEnd(5)} ${component}: ${message}${extra}\n`);
  };
  return { debug: write("debug"), info: write("info"), warn: write("warn"), error: write("error") };
}
