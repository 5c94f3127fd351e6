import type { Config } from "../../infra/platform/config.ts";
import { createProducer, type Producer } from "../../infra/platform/kafka/producer.ts";

/** A producer for a sink to own, connected on first use (a worker is built before it runs). */
export function lazyProducer(config: Config): Producer {
  let producer: Promise<Producer> | undefined;
  const get = () => (producer ??= createProducer(config));
  return {
    send: async (records) => (await get()).send(records),
    disconnect: async () => {
      if (producer) await (await producer).disconnect();
    },
  };
}
