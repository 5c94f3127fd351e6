import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** One message as the local mail sink stored it. */
export type StoredMessage = {
  received_at: string;
  message_id: string | null;
  envelope_from: string | null;
  envelope_to: string[];
  subject: string | null;
  /** The headers the welcome pipeline sets, by lower-case name. */
  headers: Record<string, string>;
  text: string | null;
};

export const mailboxFile = (smtpDir: string) => join(smtpDir, "messages.jsonl");

/** Everything the local mail sink has accepted, oldest first. */
export function readMailbox(smtpDir: string): StoredMessage[] {
  const file = mailboxFile(smtpDir);
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as StoredMessage);
}
