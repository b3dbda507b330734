/**
 * The broker as an app factory: `buildBroker()` returns a Fastify instance that tests can drive
 * in-process (`app.inject`) and that `tether broker` listens with.
 */
import Fastify, { type FastifyInstance, type FastifyRequest } from "fastify";
import rateLimit from "@fastify/rate-limit";
import websocket from "@fastify/websocket";
import { checkExpiresIn, type Scope } from "../session/rules.js";
import { Close, MAX_FRAME_BYTES } from "../proto/wire.js";
import { hashPassword, passwordNeedsRehash, verifyPassword } from "../util/secrets.js";
import { handleAgentSocket } from "./agent-socket.js";
import { handleConsoleSocket } from "./console-socket.js";
import { ErrorCodes, TetherError, errorBody } from "./errors.js";
import { Hub } from "./hub.js";
import { BrokerService } from "./service.js";
import { LINK_PATH } from "../link/support-link.js";
import type { Store, Technician } from "./store.js";
import { registerConsole } from "./console-static.js";
import { homePage } from "./pages.js";
import { registerDownloads, supportAppStatus, type SupportAppSource } from "./downloads.js";
import { createHmac } from "node:crypto";
import { cleanName, MAX_ORGANIZATION } from "../util/text.js";
import { normalizeFingerprint } from "../session/safety-code.js";

export interface BrokerOptions {
  store: Store;
  /**
   * Addresses (or CIDR ranges) of reverse proxies whose X-Forwarded-For / -Proto / -Host are
   * believed: the client's address for rate limits and logs then comes from the header. Empty: none.
   */
  trustProxy?: string[];
  /** Serve HTTPS (and WSS) with this certificate and key (PEM); HSTS on every answer. */
  https?: { cert: Buffer; key: Buffer };
  now?: () => number;
  /** Base URL for links and the Origin check; a function because the port may be known only after listen. */
  publicUrl: () => string;
  /** Log level for the Fastify logger, or false for none. */
  logLevel?: string | false;
  /** Upgrades of /ws/agent (activation attempts) per client address per minute. */
  activationLimitPerMinute?: number;
  /** Login attempts per client address per minute. */
  loginLimitPerMinute?: number;
  consentTimeoutMs?: number;
  /** How long a live grant outlives its app's connection (default 30 s). */
  grantGraceMs?: number;
  /** Access requests per session per minute (default 10). */
  accessRequestLimitPerMinute?: number;
  heartbeatIntervalMs?: number;
  helloTimeoutMs?: number;
  /** STUN/TURN servers handed to both WebRTC ends (none on loopback). */
  ice?: IceOptions;
  /** Shown on link pages ("Remote support from …"). */
  organization?: string;
  /** The prebuilt support app (npm run build:app), looked at again on each request, and the key that signs each download's trailer. */
  supportApp?: SupportAppSource;
}

declare module "fastify" {
  interface FastifyRequest {
    technician: Technician | null;
    /** SHA-256 of the token the request was authenticated with. */
    tokenHash: string;
  }
}

export interface IceOptions {
  /** stun: URLs, given as they are. */
  stun: string[];
  /** turn:/turns: URLs, given time-limited credentials from `turnSecret` (coturn's use-auth-secret). */
  turn: string[];
  turnSecret?: string;
  /** Lifetime of TURN credentials, seconds. */
  turnTtlS?: number;
}

/**
 * The ICE servers for one peer: STUN as configured; TURN with REST credentials (username
 * "<expiry>:<label>", credential base64(HMAC-SHA1(secret, username))) that expire on their own.
 */
export function iceServers(ice: IceOptions | undefined, label: string, nowMs: number) {
  if (!ice) return [];
  const out: { urls: string[]; username?: string; credential?: string }[] = [];
  if (ice.stun.length) out.push({ urls: ice.stun });
  if (ice.turn.length && ice.turnSecret) {
    const username = `${Math.floor(nowMs / 1000) + (ice.turnTtlS ?? 3600)}:${label}`;
    out.push({ urls: ice.turn, username, credential: createHmac("sha1", ice.turnSecret).update(username).digest("base64") });
  }
  return out;
}

export const SESSION_COOKIE = "tether_session";
/** How long WebSocket clients have to answer the close at shutdown, ms. */
const SHUTDOWN_GRACE_MS = 1000;
/** How often idle console sockets are checked against their sign-in, ms. */
const SIGN_IN_SWEEP_MS = 2000;
const LOGIN_TTL_MS = 12 * 60 * 60 * 1000;

/** Paths that carry a session code: logged without it. */
export function redactUrl(url: string): string {
  return url.startsWith(LINK_PATH) ? LINK_PATH + "[redacted]" : url;
}

function cookie(req: FastifyRequest, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === name) return decodeURIComponent(v.join("="));
  }
  return undefined;
}

export async function buildBroker(opts: BrokerOptions): Promise<{ app: FastifyInstance; service: BrokerService; hub: Hub }> {
  const now = opts.now ?? Date.now;
  // With a certificate the server is an https.Server; the routes do not differ (hence the cast).
  const app = Fastify({
    ...(opts.https && { https: { cert: opts.https.cert, key: opts.https.key, minVersion: "TLSv1.2" as const } }),
    bodyLimit: 16 * 1024,
    trustProxy: opts.trustProxy?.length ? opts.trustProxy : false,
    logger:
      opts.logLevel === false
        ? false
        : {
            level: opts.logLevel ?? "info",
            serializers: {
              req: (req) => ({ method: req.method, url: redactUrl(req.url), remoteAddress: req.ip }),
            },
          },
  }) as unknown as FastifyInstance;
  const hub = new Hub();
  const service = new BrokerService({
    store: opts.store,
    hub,
    now,
    publicUrl: opts.publicUrl,
    consentTimeoutMs: opts.consentTimeoutMs ?? 120_000,
    grantGraceMs: opts.grantGraceMs ?? 30_000,
    log: app.log,
  });
  service.start();

  app.decorateRequest("technician", null);
  app.decorateRequest("tokenHash", "");
  // JSON only: Fastify would parse text/plain too, which a form on another site can send without a
  // CORS preflight. Anything but JSON is 415.
  app.removeContentTypeParser("text/plain");

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string; validation?: unknown }, req, reply) => {
    if (err instanceof TetherError) {
      return reply.status(err.statusCode).send(errorBody(err.statusCode, err.code, err.message));
    }
    const status = err.statusCode ?? 500;
    if (status === 415) {
      const e = ErrorCodes.TETHER_ERR_UNSUPPORTED_MEDIA_TYPE;
      return reply.status(415).send(errorBody(415, "TETHER_ERR_UNSUPPORTED_MEDIA_TYPE", e.message));
    }
    if (status === 413) {
      const e = ErrorCodes.TETHER_ERR_BODY_TOO_LARGE;
      return reply.status(413).send(errorBody(413, "TETHER_ERR_BODY_TOO_LARGE", e.message));
    }
    if (status >= 400 && status < 500) {
      // Fastify's own client errors (bad JSON, …): keep their message.
      const code = status === 400 ? "TETHER_ERR_BAD_REQUEST" : (err.code ?? "TETHER_ERR_BAD_REQUEST");
      return reply.status(status).send(errorBody(status, code, err.message));
    }
    req.log.error({ err }, "request failed");
    const e = ErrorCodes.TETHER_ERR_INTERNAL;
    return reply.status(500).send(errorBody(500, "TETHER_ERR_INTERNAL", e.message));
  });
  app.setNotFoundHandler((req, reply) => {
    reply.status(404).send(errorBody(404, "TETHER_ERR_NOT_FOUND", `No such endpoint: ${req.method} ${redactUrl(req.url)}`));
  });

  await app.register(rateLimit, {
    global: false,
    errorResponseBuilder: (_req, ctx) =>
      new TetherError("TETHER_ERR_RATE_LIMITED", `Too many attempts from this address; try again in ${Math.ceil(ctx.ttl / 1000)} s.`),
  });
  await app.register(websocket, {
    options: { maxPayload: MAX_FRAME_BYTES },
    // On shutdown every client is told to come back (1001) and has a second to answer the close; one
    // that does not is cut off, so that no stuck peer holds the broker open for ws's 30 s close timeout.
    preClose(done) {
      const server = this.websocketServer;
      for (const c of server.clients) c.close(Close.GOING_AWAY, "the broker is shutting down");
      const cutOff = setTimeout(() => {
        for (const c of server.clients) c.terminate();
      }, SHUTDOWN_GRACE_MS);
      server.close(() => {
        clearTimeout(cutOff);
        done();
      });
    },
  });

  // Security headers on everything; pages set their own CSP.
  app.addHook("onSend", async (req, reply, payload) => {
    reply.header("x-content-type-options", "nosniff");
    reply.header("referrer-policy", "no-referrer");
    if (!reply.hasHeader("content-security-policy")) reply.header("content-security-policy", "default-src 'none'; frame-ancestors 'none'");
    if (!reply.hasHeader("cache-control")) reply.header("cache-control", "no-store");
    // On HTTPS, browsers are told to come back only over HTTPS (a year; no preload: the admin decides
    // that): served here, or by a trusted proxy that says so (X-Forwarded-Proto, with --trust-proxy).
    if (opts.https || (opts.trustProxy?.length && req.protocol === "https")) reply.header("strict-transport-security", "max-age=31536000");
    return payload;
  });

  /** Resolves the caller's technician from a Bearer token or the login cookie; 401 otherwise. */
  const authenticate = async (req: FastifyRequest) => {
    const header = req.headers.authorization ?? "";
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    const token = m?.[1] ?? cookie(req, SESSION_COOKIE);
    const tokenHash = token && token.length <= 200 ? opts.store.tokenHashOf(token) : "";
    const tech = tokenHash ? opts.store.technicianByTokenHash(tokenHash, now()) : undefined;
    if (!tech) throw new TetherError("TETHER_ERR_UNAUTHORIZED");
    // A cookie is sent by the browser on its own: require the request to come from our origin.
    if (!m) checkOrigin(req);
    req.technician = tech;
    req.tokenHash = tokenHash;
  };
  /**
   * The console's own origin is the configured public URL, and only that: the Host header is the
   * client's to choose (DNS rebinding, a proxy that passes it on), so it proves nothing.
   */
  const checkOrigin = (req: FastifyRequest) => {
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== new URL(opts.publicUrl()).origin) {
      throw new TetherError("TETHER_ERR_FORBIDDEN_ORIGIN");
    }
  };
  const tech = (req: FastifyRequest): Technician => req.technician!;

  const bodyObject = (body: unknown): Record<string, unknown> => {
    if (body === undefined || body === null) return {};
    if (typeof body !== "object" || Array.isArray(body)) {
      throw new TetherError("TETHER_ERR_BAD_REQUEST", "The request body must be a JSON object.");
    }
    return body as Record<string, unknown>;
  };

  // ---- public -------------------------------------------------------------------------------

  app.get("/healthz", async () => ({ ok: true }));
  if (!registerConsole(app)) app.get("/", async (_req, reply) => homePage(reply));
  // The link a user opens, and the download it offers. Neither binds anything.
  registerDownloads(app, {
    store: opts.store,
    now,
    publicUrl: opts.publicUrl,
    organization: opts.organization,
    supportApp: opts.supportApp,
  });

  app.post("/api/login", { config: { rateLimit: { max: opts.loginLimitPerMinute ?? 10, timeWindow: 60_000 } } }, async (req, reply) => {
    const body = bodyObject(req.body);
    const name = typeof body.name === "string" ? body.name : "";
    const password = typeof body.password === "string" ? body.password : "";
    if (!name || !password) throw new TetherError("TETHER_ERR_BAD_REQUEST", "name and password are required.");
    const t = opts.store.technicianByName(name); // removed technicians are not found
    // Hash at today's cost even for unknown names so timing does not tell which names exist.
    const stored = t?.passwordHash ?? null;
    const ok = stored ? await verifyPassword(password, stored) : (await hashPassword(password), false);
    if (!t || !stored || !ok) {
      req.log.warn({ name: name.slice(0, 64) }, "login failed");
      throw new TetherError("TETHER_ERR_LOGIN_FAILED");
    }
    // A hash from an older, cheaper cost is replaced now that the password is at hand (unless a new
    // password was set meanwhile).
    if (passwordNeedsRehash(stored)) opts.store.setPassword(t.id, await hashPassword(password), stored);
    const expiresAt = now() + LOGIN_TTL_MS;
    const token = opts.store.createToken(t.id, "login", now(), expiresAt);
    const secure = opts.publicUrl().startsWith("https:") ? "; Secure" : "";
    reply.header("set-cookie", `${SESSION_COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${LOGIN_TTL_MS / 1000}${secure}`);
    return { token, expiresAt: new Date(expiresAt).toISOString(), technician: { name: t.name, displayName: t.displayName } };
  });

  // ---- technician API (every route authenticated) --------------------------------------------

  await app.register(async (api) => {
    api.addHook("onRequest", authenticate);

    api.post("/api/logout", async (req, reply) => {
      const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? "");
      const token = m?.[1] ?? cookie(req, SESSION_COOKIE);
      if (token) {
        opts.store.deleteToken(token);
        hub.closeToken(opts.store.tokenHashOf(token), "signed out");
      }
      reply.header("set-cookie", `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`);
      return reply.status(204).send();
    });

    api.get("/api/me", async (req) => ({ name: tech(req).name, displayName: tech(req).displayName }));

    api.get("/api/status", async () => ({ supportApp: await supportAppStatus(opts.supportApp) }));

    api.post("/api/sessions", async (req, reply) => {
      const check = checkExpiresIn(bodyObject(req.body).expiresIn);
      if (!check.ok) throw new TetherError("TETHER_ERR_BAD_REQUEST", check.message);
      const { session, link } = service.createSession(tech(req), check.seconds);
      return reply.status(201).send({ ...service.sessionView(session), link });
    });

    api.get("/api/sessions", async (req) => ({
      sessions: opts.store.sessionsOf(tech(req).id).map((s) => service.sessionView(s)),
    }));

    api.get<{ Params: { id: string } }>("/api/sessions/:id", async (req) =>
      service.sessionView(service.ownSession(tech(req), req.params.id)),
    );

    api.post<{ Params: { id: string } }>("/api/sessions/:id/close", async (req) =>
      service.sessionView(service.closeSession(tech(req), req.params.id)),
    );

    api.delete<{ Params: { id: string } }>("/api/sessions/:id", async (req, reply) => {
      service.deleteSession(tech(req), req.params.id);
      return reply.status(204).send();
    });

    api.post<{ Params: { id: string } }>(
      "/api/sessions/:id/access-requests",
      {
        config: {
          rateLimit: {
            max: opts.accessRequestLimitPerMinute ?? 10,
            timeWindow: 60_000,
            // Per session (and technician: another's ids are 404 anyway), not per address.
            keyGenerator: (req: FastifyRequest) => `access:${(req.params as { id?: string }).id ?? ""}`,
            errorResponseBuilder: (_req: FastifyRequest, ctx: { ttl: number }) =>
              new TetherError(
                "TETHER_ERR_ACCESS_RATE_LIMITED",
                `Too many access requests for this session; try again in ${Math.ceil(ctx.ttl / 1000)} s.`,
              ),
          },
        },
      },
      async (req, reply) => {
        const body = bodyObject(req.body);
        const scope = body.scope;
        if (scope !== "view" && scope !== "control") {
          throw new TetherError("TETHER_ERR_BAD_REQUEST", 'scope must be "view" or "control".');
        }
        let fingerprint: string | null = null;
        if (body.viewerFingerprint !== undefined) {
          fingerprint = typeof body.viewerFingerprint === "string" ? normalizeFingerprint(body.viewerFingerprint) : null;
          if (!fingerprint) {
            throw new TetherError("TETHER_ERR_BAD_REQUEST", 'viewerFingerprint must be a certificate fingerprint like "sha-256 AB:CD:…".');
          }
        }
        const r = service.requestAccess(tech(req), req.params.id, scope as Scope, fingerprint);
        // A new request waits for the user (202); a narrowing applies at once (200).
        return reply.status(r.narrowed ? 200 : 202).send(service.accessView(r.request));
      },
    );

    api.post<{ Params: { id: string; rid: string } }>("/api/sessions/:id/access-requests/:rid/cancel", async (req) =>
      service.accessView(service.cancelAccessRequest(tech(req), req.params.id, req.params.rid)),
    );

    api.post<{ Params: { id: string; rid: string } }>("/api/sessions/:id/access-requests/:rid/end", async (req) =>
      service.accessView(service.endAccess(tech(req), req.params.id, req.params.rid)),
    );

    api.get<{ Params: { id: string; rid: string } }>("/api/sessions/:id/access-requests/:rid", async (req) =>
      service.accessView(service.ownAccessRequest(tech(req), req.params.id, req.params.rid)),
    );

    api.get("/ws/console", { websocket: true }, (socket, req) =>
      handleConsoleSocket(socket, {
        service,
        hub,
        technician: tech(req),
        tokenHash: req.tokenHash,
        signedIn: () => opts.store.technicianByTokenHash(req.tokenHash, now())?.id === tech(req).id,
        log: req.log,
        iceServers: iceServers(opts.ice, tech(req).id, now()),
      }),
    );
  });

  // Console sockets end with their sign-in: a token revoked or expired (also from the CLI, in
  // another process) or a technician removed closes them within SIGN_IN_SWEEP_MS even when idle.
  const sweep = setInterval(() => {
    for (const [, peer] of [...hub.allConsoles()]) peer.check();
  }, SIGN_IN_SWEEP_MS);
  sweep.unref();

  // ---- agent WebSocket ----------------------------------------------------------------------

  app.get(
    "/ws/agent",
    {
      websocket: true,
      config: { rateLimit: { max: opts.activationLimitPerMinute ?? 60, timeWindow: 60_000 } },
    },
    (socket, req) =>
      handleAgentSocket(socket, {
        service,
        hub,
        heartbeatIntervalMs: opts.heartbeatIntervalMs ?? 10_000,
        helloTimeoutMs: opts.helloTimeoutMs ?? 10_000,
        log: req.log,
        remoteAddress: req.ip,
        iceServers: (sessionId: string) => iceServers(opts.ice, sessionId, now()),
        organization: cleanName(opts.organization ?? "", MAX_ORGANIZATION),
      }),
  );

  app.addHook("onClose", async () => {
    clearInterval(sweep);
    hub.closeAll();
    service.dispose();
  });

  return { app, service, hub };
}
