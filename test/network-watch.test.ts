/** What counts as a network change for the support app (src/agent/network-watch.ts). */
import { describe, expect, it } from "vitest";
import type { NetworkInterfaceInfo } from "node:os";
import { defaultRouteInterfaces, networkSignature, temporaryAddresses } from "../src/agent/network-watch.js";

const ROUTE4 = (iface: string) =>
  [
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT",
    `${iface}\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0`,
    `${iface}\t0001A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0`,
    "docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0",
  ].join("\n");
const ROUTE6 = [
  "fe800000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     wlan0",
  "00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo",
].join("\n");

const v4 = (address: string): NetworkInterfaceInfo => ({
  address,
  family: "IPv4",
  internal: false,
  netmask: "255.255.255.0",
  mac: "00:00:00:00:00:00",
  cidr: null,
});
const v6 = (address: string): NetworkInterfaceInfo => ({
  address,
  family: "IPv6",
  internal: false,
  netmask: "ffff:ffff:ffff:ffff::",
  mac: "00:00:00:00:00:00",
  cidr: null,
  scopeid: 0,
});

describe("network changes", () => {
  it("reads the interfaces with a default route (IPv4 and IPv6), never lo or a reject route", () => {
    expect(defaultRouteInterfaces(ROUTE4("wlan0"), ROUTE6)).toEqual(new Set(["wlan0"]));
    expect(defaultRouteInterfaces(null, null)).toBeNull();
  });

  it("a container bridge or a link-local address changes nothing; a new address on the default interface or a moved default route does", () => {
    const base = { wlan0: [v4("192.168.1.20"), v6("fe80::1")], lo: [{ ...v4("127.0.0.1"), internal: true }] };
    const before = networkSignature(defaultRouteInterfaces(ROUTE4("wlan0"), ROUTE6), base);
    expect(networkSignature(defaultRouteInterfaces(ROUTE4("wlan0"), ROUTE6), { ...base, docker0: [v4("172.17.0.1")] })).toBe(before);
    expect(networkSignature(defaultRouteInterfaces(ROUTE4("wlan0"), ROUTE6), { ...base, wlan0: [v4("192.168.1.20"), v6("fe80::2")] })).toBe(
      before,
    );
    expect(networkSignature(defaultRouteInterfaces(ROUTE4("wlan0"), ROUTE6), { ...base, wlan0: [v4("192.168.1.21")] })).not.toBe(before);
    const vpn = { ...base, tun0: [v4("10.8.0.2")] };
    expect(networkSignature(defaultRouteInterfaces(ROUTE4("wlan0"), ROUTE6), vpn)).toBe(before); // up, but not the default route yet
    expect(networkSignature(defaultRouteInterfaces(ROUTE4("tun0"), ROUTE6), vpn)).not.toBe(before); // now it is
  });

  it("no default route at all is offline: an empty signature (the app waits for a network to come back)", () => {
    expect(networkSignature(defaultRouteInterfaces(ROUTE4("wlan0").split("\n")[0]!, ""), { wlan0: [v4("192.168.1.20")] })).toBe("");
  });

  it("an IPv6 privacy address rotating (IFA_F_TEMPORARY in /proc/net/if_inet6) is no change; the stable address changing is", () => {
    const IF_INET6 = [
      "20010db8000000010000000000000001 03 40 00 80     wlan0", // stable (permanent)
      "20010db80000000111223344aabbccdd 03 40 00 01     wlan0", // temporary
      "fe800000000000000000000000000001 03 40 20 80     wlan0",
      "00000000000000000000000000000001 01 80 10 80       lo",
    ].join("\n");
    const temporary = temporaryAddresses(IF_INET6);
    expect([...temporary]).toEqual(["2001:db8:0:1:1122:3344:aabb:ccdd"]);
    expect(temporaryAddresses("20010db8000000000000000000000005 03 40 00 01 eth0")).toEqual(new Set(["2001:db8::5"]));
    const routes = defaultRouteInterfaces(ROUTE4("wlan0"), ROUTE6);
    const withTemp = (t: string) => ({ wlan0: [v4("192.168.1.20"), v6("2001:db8:0:1::1"), v6(t)] });
    const before = networkSignature(routes, withTemp("2001:db8:0:1:1122:3344:aabb:ccdd"), temporary);
    const rotated = temporaryAddresses(
      IF_INET6.replace("11223344aabbccdd", "99887766aabbccdd").replace("0000000111223344", "0000000199887766"),
    );
    expect(networkSignature(routes, withTemp("2001:db8:0:1:9988:7766:aabb:ccdd"), rotated)).toBe(before);
    expect(
      networkSignature(routes, { wlan0: [v4("192.168.1.20"), v6("2001:db8:0:2::1"), v6("2001:db8:0:2:1122:3344:aabb:ccdd")] }, temporary),
    ).not.toBe(before); // another network: the stable address changed
  });

  it("without routing tables every non-internal address counts", () => {
    expect(networkSignature(null, { eth0: [v4("10.0.0.2")], lo: [{ ...v4("127.0.0.1"), internal: true }] })).toBe("eth0 10.0.0.2");
  });
});
