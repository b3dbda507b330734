/**
 * Whom the support app trusts over HTTPS: Node's bundled root certificates (Mozilla's), the
 * computer's own bundle where it has one (so a company CA installed there is trusted), and an
 * optional extra CA file (--ca, TETHER_CA_FILE). A certificate that does not verify is never
 * worked around: it is one line and an exit code.
 */
import { readFileSync } from "node:fs";
import { rootCertificates } from "node:tls";

/** Where Linux distributions keep the system's trusted certificates (the first one found is read). */
const SYSTEM_BUNDLES = [
  "/etc/ssl/certs/ca-certificates.crt", // Debian, Ubuntu, Arch
  "/etc/pki/tls/certs/ca-bundle.crt", // Fedora, RHEL
  "/etc/ssl/ca-bundle.pem", // openSUSE
  "/etc/ssl/cert.pem", // Alpine
];

/** Node's roots, the system bundle, and `extraFile` (read now; throws with the file's error if unreadable). */
export function trustedCertificates(extraFile?: string): string[] {
  const out = [...rootCertificates];
  for (const f of SYSTEM_BUNDLES) {
    try {
      out.push(readFileSync(f, "utf8"));
      break;
    } catch {
      // not on this system
    }
  }
  if (extraFile) out.push(readFileSync(extraFile, "utf8"));
  return out;
}

/** OpenSSL's and Node's codes for a certificate that does not verify (unknown CA, wrong name, expired, …). */
export function isCertificateError(code: string | undefined): boolean {
  if (!code) return false;
  return (
    code.startsWith("CERT_") ||
    code.startsWith("ERR_TLS_CERT") ||
    [
      "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
      "UNABLE_TO_GET_ISSUER_CERT",
      "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
      "SELF_SIGNED_CERT_IN_CHAIN",
      "DEPTH_ZERO_SELF_SIGNED_CERT",
      "ERR_SSL_WRONG_VERSION_NUMBER",
    ].includes(code)
  );
}
