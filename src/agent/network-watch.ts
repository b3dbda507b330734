/**
 * What counts as "the network changed" for the support app (it then checks its broker connection and
 * restarts ICE): the interfaces that carry a default route, and their addresses. A container bridge
 * or a second adapter coming up changes nothing here; a new address on the default interface, or
 * the default route moving (to a VPN, to another Wi-Fi) does. Link-local IPv6 addresses are left
 * out. Where the routing tables cannot be read (not Linux), every non-internal address counts.
 */
import { readFileSync } from "node:fs";
import { networkInterfaces, type NetworkInterfaceInfo } from "node:os";

/** Interfaces with a default route in /proc/net/route and /proc/net/ipv6_route texts (never "lo"). */
export function defaultRouteInterfaces(route4: string | null, route6: string | null): Set<string> | null {
  if (route4 === null && route6 === null) return null;
  const out = new Set<string>();
  for (const line of (route4 ?? "").split("\n").slice(1)) {
    const [iface, destination, , , , , , mask] = line.trim().split(/\s+/);
    if (iface && iface !== "lo" && destination === "00000000" && mask === "00000000") out.add(iface);
  }
  for (const line of (route6 ?? "").split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const [destination, prefix, , , , , , , flags, iface] = f;
    const reject = (parseInt(flags ?? "0", 16) & 0x0200) !== 0; // RTF_REJECT
    if (iface && iface !== "lo" && !reject && prefix === "00" && /^0{32}$/.test(destination ?? "")) out.add(iface);
  }
  return out;
}

/**
 * IPv6 privacy (temporary) addresses from a /proc/net/if_inet6 text (IFA_F_TEMPORARY), in the
 * form Node's networkInterfaces() prints them. They rotate every few hours on a computer that stays
 * where it is: no network change.
 */
export function temporaryAddresses(ifInet6: string | null): Set<string> {
  const out = new Set<string>();
  for (const line of (ifInet6 ?? "").split("\n")) {
    const [hex, , , , flags] = line.trim().split(/\s+/);
    if (!hex || hex.length !== 32 || (parseInt(flags ?? "0", 16) & 0x01) === 0) continue;
    const groups = hex.match(/.{4}/g)!.map((g) => g.replace(/^0+(?=.)/, ""));
    // The shortest form, as Node writes it (the longest run of zero groups as "::").
    let best = { at: -1, len: 0 };
    for (let i = 0; i < 8;) {
      if (groups[i] !== "0") {
        i++;
        continue;
      }
      let j = i;
      while (j < 8 && groups[j] === "0") j++;
      if (j - i > best.len && j - i > 1) best = { at: i, len: j - i };
      i = j;
    }
    const text = best.at < 0 ? groups.join(":") : `${groups.slice(0, best.at).join(":")}::${groups.slice(best.at + best.len).join(":")}`;
    out.add(text.toLowerCase());
  }
  return out;
}

/**
 * A comparable string of the default interfaces' addresses (all non-internal ones when `defaults` is
 * null); "" when there is no default route at all (offline: nothing to move to yet). Link-local and
 * `temporary` (IPv6 privacy) addresses are left out.
 */
export function networkSignature(
  defaults: Set<string> | null,
  interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>,
  temporary: ReadonlySet<string> = new Set(),
): string {
  if (defaults !== null && defaults.size === 0) return "";
  return Object.entries(interfaces)
    .filter(([name]) => defaults === null || defaults.has(name))
    .flatMap(([name, list]) =>
      (list ?? [])
        .filter((a) => !a.internal && !(a.family === "IPv6" && (/^fe80:/i.test(a.address) || temporary.has(a.address.toLowerCase()))))
        .map((a) => `${name} ${a.address}`),
    )
    .concat(defaults ? [...defaults].map((d) => `default ${d}`) : [])
    .sort()
    .join(",");
}

const read = (file: string) => {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return null;
  }
};

/** This computer's network, now (see networkSignature). */
export function currentNetwork(): string {
  return networkSignature(
    defaultRouteInterfaces(read("/proc/net/route"), read("/proc/net/ipv6_route")),
    networkInterfaces(),
    temporaryAddresses(read("/proc/net/if_inet6")),
  );
}
