// The technician's side (test/support/receiver.ts) as a process of its own, so that it can run in
// another network namespace than the test (test/support/internet.ts). Runs the compiled receiver
// (dist/, built by `npm test`'s build step).
//
//   node test/support/remote-receiver.mjs <broker-url> <token> [--no-ice | --ice <json>]
//   (default: the ICE servers the broker gives the console; --ice: these instead)
//   stdin:  {"watch":"<access request id>"}   the request whose offer to answer
//   stdout: {"status":{...}} whenever what it sees changes: connection state, frames, frame size,
//           the centre pixel (Y, U, V), the selected candidate pair's types ({"local":"relay",...})
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import path from "node:path";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const { Receiver, brokerIceServers, pixel } = await import(path.join(root, "dist", "test", "support", "receiver.js"));
const [broker, token, flag, value] = process.argv.slice(2);
const iceServers = flag === "--no-ice" ? [] : flag === "--ice" ? JSON.parse(value) : await brokerIceServers(broker, token);
const rx = await Receiver.connect(broker, token, { keepFrames: false, iceServers });
const out = (o) => process.stdout.write(JSON.stringify(o) + "\n");
out({ ready: true, iceServers: iceServers.map((s) => s.urls).flat() });
createInterface({ input: process.stdin }).on("line", (line) => {
  const m = JSON.parse(line);
  if (m.watch) rx.accessRequestId = m.watch;
});
process.stdin.on("end", () => process.exit(0));
let last = "";
setInterval(async () => {
  const status = {
    state: rx.connectionState,
    frames: rx.frameCount,
    renewals: rx.iceRenewals,
    size: rx.latest ? [rx.latest.width, rx.latest.height] : null,
    // Y, U, V at the frame's centre: what the screen shows now (tests paint colours).
    centre: rx.latest ? pixel(rx.latest, rx.latest.width >> 1, rx.latest.height >> 1) : null,
    path: await rx.path().catch(() => null),
    candidates: await rx
      .stats()
      .then((m) =>
        [...m.values()]
          .filter((v) => v.type === "local-candidate" || v.type === "remote-candidate")
          .map((v) => `${v.type.split("-")[0]} ${v.candidateType} ${v.address ?? v.ip}:${v.port}`),
      )
      .catch(() => []),
  };
  const key = JSON.stringify({ ...status, frames: Math.min(status.frames, 3) });
  if (key !== last) {
    last = key;
    out({ status, at: Date.now() }); // at: epoch ms, to line up with the app's trace
  }
}, 200);
