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
import { BrokerService, CHAT_PER_MINUTE } from "./service.js";
import { LINK_PATH } from "../link/support-link.js";
import type { BrokerStore, Technician } from "./store.js";
import type { ClusterNode } from "./cluster.js";
import { registerConsole } from "./console-static.js";
import { homePage } from "./pages.js";
import { registerDownloads, supportAppStatus, type SupportAppSource } from "./downloads.js";
import { createHmac } from "node:crypto";
import { cleanChat, cleanName, MAX_CHAT, MAX_LABEL, MAX_ORGANIZATION, MAX_TICKET } from "../util/text.js";
import { historyView, sessionMatches } from "./views.js";
import { normalizeFingerprint } from "../session/safety-code.js";

export interface BrokerOptions {
  store: BrokerStore;
  /**
   * Cluster mode: this node's link to the others (PostgreSQL presence and counters, NATS). Without
   * it the broker is one process: everything connected is in its memory.
   */
  cluster?: ClusterNode;
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
  /** The largest file a transfer between the technician and the user may carry (bytes; default 1024 MB). */
  maxFileBytes?: number;
  /** The prebuilt support app (npm run build:app), looked at again on each request, and the key that signs each download's trailer. */
  supportApp?: SupportAppSource;
  /** The same for the Windows app (a .exe), offered to Windows browsers. */
  windowsApp?: SupportAppSource;
}

declare module "fastify" {
  interface FastifyRequest {
    technician: Technician | null;
    /** SHA-256 of the token the request was authenticated with. */
    tokenHash: string;
  }
}

/** The default --max-file-mb: 1024 MB. */
export const DEFAULT_MAX_FILE_BYTES = 1024 * 1_000_000;

export interface IceOptions {
  /** stun: URLs, given as they are. */
  stun: string[];
  /** turn:/turns: URLs, given time-limited credentials from `turnSecret` (coturn's use-auth-secret). */
  turn: string[];
  turnSecret?: string;
  /** Lifetime of TURN credentials, seconds (default 3600). Connected apps and consoles get new ones every half of it. */
  turnTtlS?: number;
}

/** How often connected apps and consoles get fresh TURN credentials (ms); undefined without TURN. */
export function iceRenewalMs(ice: IceOptions | undefined): number | undefined {
  if (!ice?.turn.length || !ice.turnSecret) return undefined;
  return ((ice.turnTtlS ?? 3600) * 1000) / 2;
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
  const hub = new Hub(opts.cluster);
  const service = new BrokerService({
    store: opts.store,
    hub,
    now,
    publicUrl: opts.publicUrl,
    consentTimeoutMs: opts.consentTimeoutMs ?? 120_000,
    grantGraceMs: opts.grantGraceMs ?? 30_000,
    log: app.log,
  });
  await service.start();
  if (opts.cluster) {
    // Apps held by a node that is gone: offline, and their grants end (see service.agentLost).
    await opts.cluster.start(
      (sessionId) => void service.agentLost(sessionId).catch((err: unknown) => app.log.warn({ err, sessionId }, "lost app not handled")),
      () => hub.heldAgents(),
    );
    service.startSweep(opts.cluster.store);
  }

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
    // In a cluster the counters are shared by every node (PostgreSQL, cluster.ts).
    ...(opts.cluster && { store: opts.cluster.rateLimitStore() }),
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
    const tokenHash = token && token.length <= 200 ? await opts.store.tokenHashOf(token) : "";
    const tech = tokenHash ? await opts.store.technicianByTokenHash(tokenHash, now()) : undefined;
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
  /** A session detail (label, customer, ticket): absent or "" is none; text is cleaned like a name; anything else is a 400. */
  const detailField = (body: Record<string, unknown>, name: string, max: number): string | null => {
    const v = body[name];
    if (v === undefined || v === null) return null;
    if (typeof v !== "string" || Array.from(v).length > max) {
      throw new TetherError("TETHER_ERR_BAD_REQUEST", `${name} must be text of at most ${max} characters.`);
    }
    return cleanName(v, max) || null;
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
    windowsApp: opts.windowsApp,
  });

  app.post("/api/login", { config: { rateLimit: { max: opts.loginLimitPerMinute ?? 10, timeWindow: 60_000 } } }, async (req, reply) => {
    const body = bodyObject(req.body);
    const name = typeof body.name === "string" ? body.name : "";
    const password = typeof body.password === "string" ? body.password : "";
    if (!name || !password) throw new TetherError("TETHER_ERR_BAD_REQUEST", "name and password are required.");
    const t = await opts.store.technicianByName(name); // removed technicians are not found
    // Hash at today's cost even for unknown names so timing does not tell which names exist.
    const stored = t?.passwordHash ?? null;
    const ok = stored ? await verifyPassword(password, stored) : (await hashPassword(password), false);
    if (!t || !stored || !ok) {
      req.log.warn({ name: name.slice(0, 64) }, "login failed");
      throw new TetherError("TETHER_ERR_LOGIN_FAILED");
    }
    // A hash from an older, cheaper cost is replaced now that the password is at hand (unless a new
    // password was set meanwhile).
    if (passwordNeedsRehash(stored)) await opts.store.setPassword(t.id, await hashPassword(password), stored);
    const expiresAt = now() + LOGIN_TTL_MS;
    const token = await opts.store.createToken(t.id, "login", now(), expiresAt);
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
        await opts.store.deleteToken(token);
        hub.closeToken(await opts.store.tokenHashOf(token), "signed out");
      }
      reply.header("set-cookie", `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`);
      return reply.status(204).send();
    });

    api.get("/api/me", async (req) => ({ name: tech(req).name, displayName: tech(req).displayName }));

    api.get("/api/status", async () => ({
      supportApp: await supportAppStatus(opts.supportApp),
      windowsApp: await supportAppStatus(opts.windowsApp),
    }));

    api.post("/api/sessions", async (req, reply) => {
      const body = bodyObject(req.body);
      const check = checkExpiresIn(body.expiresIn);
      if (!check.ok) throw new TetherError("TETHER_ERR_BAD_REQUEST", check.message);
      const details = {
        label: detailField(body, "label", MAX_LABEL),
        customer: detailField(body, "customer", MAX_LABEL),
        ticket: detailField(body, "ticket", MAX_TICKET),
      };
      const { session, link } = await service.createSession(tech(req), check.seconds, details);
      return reply.status(201).send({ ...(await service.sessionView(session)), link });
    });

    api.get<{ Querystring: { q?: unknown } }>("/api/sessions", async (req) => {
      const q = req.query.q;
      if (q !== undefined && (typeof q !== "string" || q.length > 200)) {
        throw new TetherError("TETHER_ERR_BAD_REQUEST", "q must be text of at most 200 characters");
      }
      return {
        sessions: await Promise.all(
          (await opts.store.sessionsOf(tech(req).id))
            .filter((s) => q === undefined || sessionMatches(s, q))
            .map((s) => service.sessionView(s)),
        ),
      };
    });

    api.post<{ Params: { id: string } }>(
      "/api/sessions/:id/chat",
      {
        config: {
          rateLimit: {
            max: CHAT_PER_MINUTE,
            timeWindow: 60_000,
            keyGenerator: (req: FastifyRequest) => `chat:${(req.params as { id?: string }).id ?? ""}`,
            errorResponseBuilder: () => new TetherError("TETHER_ERR_CHAT_RATE_LIMITED"),
          },
        },
      },
      async (req, reply) => {
        const v = bodyObject(req.body).text;
        const text = typeof v === "string" && Array.from(v).length <= MAX_CHAT ? cleanChat(v) : "";
        if (!text) throw new TetherError("TETHER_ERR_BAD_REQUEST", `text must be a message of 1 to ${MAX_CHAT} characters.`);
        const m = await service.chatFromTechnician(tech(req), req.params.id, text);
        return reply.status(201).send({ id: m.id, from: m.from, name: m.name, text: m.text, at: new Date(m.atMs).toISOString() });
      },
    );

    api.post<{ Params: { id: string; rid: string } }>("/api/sessions/:id/access-requests/:rid/recording", async (req) => {
      const on = bodyObject(req.body).on;
      if (typeof on !== "boolean") throw new TetherError("TETHER_ERR_BAD_REQUEST", "on must be true (start) or false (stop).");
      await service.recording(tech(req), req.params.id, req.params.rid, on);
      return { recording: on };
    });

    api.get<{ Params: { id: string } }>("/api/sessions/:id/chat", async (req) => ({
      messages: await service.chatOf(tech(req), req.params.id),
    }));

    api.get<{ Params: { id: string } }>("/api/sessions/:id/history", async (req) => ({
      entries: (await service.history(tech(req), req.params.id)).map(historyView),
    }));

    api.get<{ Params: { id: string } }>("/api/sessions/:id", async (req) =>
      service.sessionView(await service.ownSession(tech(req), req.params.id)),
    );

    api.post<{ Params: { id: string } }>("/api/sessions/:id/close", async (req) =>
      service.sessionView(await service.closeSession(tech(req), req.params.id)),
    );

    api.delete<{ Params: { id: string } }>("/api/sessions/:id", async (req, reply) => {
      await service.deleteSession(tech(req), req.params.id);
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
        const r = await service.requestAccess(tech(req), req.params.id, scope as Scope, fingerprint);
        // A new request waits for the user (202); a narrowing applies at once (200).
        return reply.status(r.narrowed ? 200 : 202).send(service.accessView(r.request));
      },
    );

    api.post<{ Params: { id: string; rid: string } }>("/api/sessions/:id/access-requests/:rid/cancel", async (req) =>
      service.accessView(await service.cancelAccessRequest(tech(req), req.params.id, req.params.rid)),
    );

    api.post<{ Params: { id: string; rid: string } }>("/api/sessions/:id/access-requests/:rid/end", async (req) =>
      service.accessView(await service.endAccess(tech(req), req.params.id, req.params.rid)),
    );

    api.get<{ Params: { id: string; rid: string } }>("/api/sessions/:id/access-requests/:rid", async (req) =>
      service.accessView(await service.ownAccessRequest(tech(req), req.params.id, req.params.rid)),
    );

    api.get("/ws/console", { websocket: true }, (socket, req) =>
      handleConsoleSocket(socket, {
        service,
        hub,
        technician: tech(req),
        tokenHash: req.tokenHash,
        signedIn: () => {
          const t = opts.store.technicianByTokenHash(req.tokenHash, now());
          return t instanceof Promise ? t.then((x) => x?.id === tech(req).id) : t?.id === tech(req).id;
        },
        log: req.log,
        iceServers: () => iceServers(opts.ice, tech(req).id, now()),
        iceRenewalMs: iceRenewalMs(opts.ice),
        maxFileBytes: opts.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES,
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
        iceRenewalMs: iceRenewalMs(opts.ice),
        organization: cleanName(opts.organization ?? "", MAX_ORGANIZATION),
        maxFileBytes: opts.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES,
      }),
  );

  app.addHook("onClose", async () => {
    clearInterval(sweep);
    hub.closeAll();
    service.dispose();
    await opts.cluster?.stop();
  });

  return { app, service, hub };
}
