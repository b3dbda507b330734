import { serveBroker } from "../broker/server.js";
import { intOption, parse } from "./args.js";

export const brokerHelp = `Usage: tether broker [--host 127.0.0.1] [--port 8080] [--data ./data] [options]

Runs the broker: the technician HTTP API, the agents' and consoles' WebSockets, and the store
(<data>/tether.db). On the first start it creates the technician "admin" and prints its password once.

Options:
  --host ADDR              address to listen on (default 127.0.0.1)
  --port N                 port (default 8080; 0 picks a free one)
  --data DIR               data folder (default ./data)
  --public-url URL         base URL put into support links (default http://<host>:<port>)
  --activation-limit N     agent connection (activation) attempts per client address per minute (default 60)
  --login-limit N          login attempts per client address per minute (default 10)
  --consent-timeout S      seconds an access request waits for the user's answer (default 120)
  --organization NAME      your organisation's name, shown on link pages (default "Tether")
  --app FILE               the prebuilt support app offered on link pages
                           (default dist/app/tether-support-linux-x64, made by npm run build:app)
  --log-level LEVEL        fatal, error, warn, info (default), debug, or silent`;

export async function brokerCommand(args: string[]): Promise<number> {
  const { values } = parse(
    args,
    {
      host: { type: "string", default: "127.0.0.1" },
      port: { type: "string" },
      data: { type: "string", default: "./data" },
      "public-url": { type: "string" },
      "activation-limit": { type: "string" },
      "login-limit": { type: "string" },
      "consent-timeout": { type: "string" },
      "log-level": { type: "string", default: "info" },
      organization: { type: "string" },
      app: { type: "string" },
    },
    false,
  );
  const publicUrl = values["public-url"];
  const server = await serveBroker({
    host: values.host!,
    port: intOption(values.port, "--port", 8080),
    dataDir: values.data!,
    ...(publicUrl !== undefined && { publicUrl }),
    activationLimitPerMinute: intOption(values["activation-limit"], "--activation-limit", 60, 1, 1_000_000),
    loginLimitPerMinute: intOption(values["login-limit"], "--login-limit", 10, 1, 1_000_000),
    consentTimeoutMs: intOption(values["consent-timeout"], "--consent-timeout", 120, 1, 3600) * 1000,
    logLevel: values["log-level"]!,
    ...(values.organization !== undefined && { organization: values.organization.slice(0, 100) }),
    ...(values.app !== undefined && { appFile: values.app }),
    out: (line) => process.stdout.write(line + "\n"),
  });
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      void server.stop().then(resolve);
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
  return 0;
}
