import { configOrExit } from "/work/main/infra/platform/config.ts";
import { createProducer } from "/work/main/infra/platform/kafka/producer.ts";

const config = configOrExit();
const p = await createProducer(config);
const doc = {
  user_id: "bu-1",
  username: "bench_1",
  name: "Bench User 1",
  joined_at: new Date().toISOString(),
  bio: "benchmarks and coffee",
  location: "Lisbon",
  followers: 0,
  following: 0,
  tweets: 0,
  likes: 0,
};
console.log("bytes", JSON.stringify(doc).length);
const topic = process.argv[2] ?? "userinfo.changelog";
for (const chunk of [5000, 1000, 500]) {
  const t = performance.now();
  const total = 100_000;
  const lanes = 12;
  await Promise.all(
    Array.from({ length: lanes }, async (_, lane) => {
      for (let i = lane * chunk; i < total; i += lanes * chunk) {
        await p.send(
          Array.from({ length: chunk }, (_, j) => ({
            topic,
            key: `bu-${i + j}`,
            value: { ...doc, user_id: `bu-${i + j}` },
          })),
        );
      }
    }),
  );
  const s = (performance.now() - t) / 1000;
  console.log(`chunk ${chunk}: ${(total / s).toFixed(0)} rec/s`);
}
await p.disconnect();
