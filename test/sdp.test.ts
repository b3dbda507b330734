/** The bitrate hints the agent adds to the technician's answer before its send side reads it. */
import { describe, expect, it } from "vitest";
import { withBitrateHints } from "../src/agent/sdp.js";

const answer = [
  "v=0",
  "o=- 1 2 IN IP4 127.0.0.1",
  "s=-",
  "t=0 0",
  "m=audio 9 UDP/TLS/RTP/SAVPF 111",
  "a=rtpmap:111 opus/48000/2",
  "a=fmtp:111 minptime=10;useinbandfec=1",
  "m=video 9 UDP/TLS/RTP/SAVPF 96 97 98",
  "a=rtpmap:96 VP8/90000",
  "a=rtpmap:97 rtx/90000",
  "a=fmtp:97 apt=96",
  "a=rtpmap:98 VP9/90000",
  "a=fmtp:98 profile-id=0",
  "",
].join("\r\n");

describe("withBitrateHints", () => {
  const out = withBitrateHints(answer);
  const hint = "x-google-start-bitrate=8000;x-google-min-bitrate=2000;x-google-max-bitrate=30000";

  it("adds the hints to each video codec: a new fmtp line where there was none, appended where there was", () => {
    expect(out).toContain(`a=rtpmap:96 VP8/90000\r\na=fmtp:96 ${hint}\r\n`);
    expect(out).toContain(`a=fmtp:98 profile-id=0;${hint}\r\n`);
  });

  it("leaves audio, retransmission and everything else as it was, CRLF line ends intact", () => {
    expect(out).toContain("a=fmtp:111 minptime=10;useinbandfec=1\r\n");
    expect(out).toContain("a=fmtp:97 apt=96\r\n");
    expect(out.split("\r\n").length).toBe(answer.split("\r\n").length + 1);
    expect(out).not.toMatch(/[^\r]\n/);
    expect(withBitrateHints("v=0\r\n")).toBe("v=0\r\n");
  });
});
