// Certificates for the HTTPS tests, made with the openssl command: a CA of the test's own, and
// server certificates it signs (or not) for given names and addresses.
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "./procs.js";

export interface TestCa {
  dir: string;
  /** The CA's certificate (PEM file): what clients are told to trust. */
  caFile: string;
  /** A server certificate and key signed by this CA, for `names` (DNS names or IP addresses). */
  issue(label: string, names: string[]): { certFile: string; keyFile: string };
}

/** A new P-256 key, unencrypted (test material only). */
const NEW_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
const openssl = (args: string[], cwd: string) => execFileSync("openssl", args, { cwd, stdio: "pipe" });

export function makeCa(name = "Tether Test CA"): TestCa {
  const dir = tempDir("tether-ca-");
  openssl(["req", "-x509", ...NEW_KEY, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", `/CN=${name}`], dir);
  let serial = 0;
  return {
    dir,
    caFile: join(dir, "ca.pem"),
    issue(label, names) {
      serial++;
      const san = names.map((n) => (/^[\d.]+$/.test(n) || n.includes(":") ? `IP:${n}` : `DNS:${n}`)).join(",");
      writeFileSync(join(dir, `${label}.ext`), `subjectAltName=${san}\nextendedKeyUsage=serverAuth\n`);
      openssl(["req", ...NEW_KEY, "-keyout", `${label}.key`, "-out", `${label}.csr`, "-subj", `/CN=${names[0]}`], dir);
      openssl(
        [
          "x509",
          "-req",
          "-in",
          `${label}.csr`,
          "-CA",
          "ca.pem",
          "-CAkey",
          "ca.key",
          "-set_serial",
          String(1000 + serial),
          "-days",
          "2",
          "-extfile",
          `${label}.ext`,
          "-out",
          `${label}.pem`,
        ],
        dir,
      );
      return { certFile: join(dir, `${label}.pem`), keyFile: join(dir, `${label}.key`) };
    },
  };
}
