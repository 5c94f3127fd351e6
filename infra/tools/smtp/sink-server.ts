import { appendFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { simpleParser } from "mailparser";
import { SMTPServer } from "smtp-server";
import type { StoredMessage } from "./mailbox.ts";

/**
 * The local stack's SMTP server: accepts every message (no auth, no TLS,
 * loopback only) and appends it, parsed, as one JSON line to
 * <dir>/messages.jsonl, which tests and the bench read. It stands in for a
 * mail provider; `received_at` is when it accepted the message.
 */
const { values } = parseArgs({
  args: process.argv.slice(2),
  options: { port: { type: "string" }, dir: { type: "string" } },
});
if (!values.port || !values.dir) {
  console.error("usage: bun infra/tools/smtp/sink-server.ts --port N --dir FOLDER");
  process.exit(2);
}
mkdirSync(values.dir, { recursive: true });
const mailbox = join(values.dir, "messages.jsonl");

const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ["AUTH", "STARTTLS"],
  banner: "cdp local mail sink",
  size: 1024 * 1024,
  logger: false,
  async onData(stream, session, callback) {
    try {
      const parsed = await simpleParser(stream);
      const header = (name: string) => {
        const value = parsed.headers.get(name);
        return typeof value === "string" ? value : undefined;
      };
      const message: StoredMessage = {
        received_at: new Date().toISOString(),
        message_id: parsed.messageId ?? null,
        envelope_from: session.envelope.mailFrom ? session.envelope.mailFrom.address : null,
        envelope_to: session.envelope.rcptTo.map((r) => r.address),
        subject: parsed.subject ?? null,
        headers: Object.fromEntries(
          ["x-member-id", "x-subscriber-key"].flatMap((name) => (header(name) ? [[name, header(name)!]] : [])),
        ),
        text: parsed.text ?? null,
      };
      // One write per message: lines never interleave.
      appendFileSync(mailbox, `${JSON.stringify(message)}\n`);
      callback();
    } catch (error) {
      callback(error as Error);
    }
  },
});
server.on("error", (error) => console.error(`smtp: ${error.message}`));
server.listen(Number(values.port), "127.0.0.1", () =>
  console.log(`mail sink listening on 127.0.0.1:${values.port}, storing to ${mailbox}`),
);
const stop = () => server.close(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
