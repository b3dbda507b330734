/**
 * The broker as an app factory: `buildBroker()` returns a Fastify instance that tests can drive
 * in-process (`app.inject`) and that `tether broker` listens with.
 */
import Fastify, { type FastifyInstance, type FastifyRequest } from "fastify";
import rateLimit from "@fastify/rate-limit";
import websocket from "@fastify/websocket";
import { checkExpiresIn, type Scope } from "../session/rules.js";
import { MAX_FRAME_BYTES } from "../proto/wire.js";
import { hashPassword, verifyPassword } from "../util/secrets.js";
import { handleAgentSocket } from "./agent-socket.js";
import { handleConsoleSocket } from "./console-socket.js";
import { ErrorCodes, TetherError, errorBody } from "./errors.js";
import { Hub } from "./hub.js";
import { BrokerService, LINK_PATH } from "./service.js";
import type { Store, Technician } from "./store.js";
import { registerConsole } from "./console-static.js";
import { homePage } from "./pages.js";
import { goneLinkPage, linkPage } from "./link-page.js";
import { createReadStream, statSync } from "node:fs";
import { Readable } from "node:stream";
import { createHmac, type KeyObject } from "node:crypto";
import { linkAvailable } from "../session/rules.js";
import { makeTrailer } from "../app/trailer.js";
import { hashSecret, SESSION_CODE_PATTERN } from "../util/secrets.js";

export interface BrokerOptions {
  store: Store;
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
  heartbeatIntervalMs?: number;
  helloTimeoutMs?: number;
  /** STUN/TURN servers handed to both WebRTC ends (none on loopback). */
  ice?: IceOptions;
  /** Shown on link pages ("Remote support from …"). */
  organization?: string;
  /** The prebuilt support app (npm run build:app) and the key that signs each download's trailer. */
  supportApp?: { file: string; signingKey: KeyObject };
}

declare module "fastify" {
  interface FastifyRequest {
    technician: Technician | null;
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
  const app = Fastify({
    bodyLimit: 16 * 1024,
    trustProxy: false,
    logger:
      opts.logLevel === false
        ? false
        : {
            level: opts.logLevel ?? "info",
            serializers: {
              req: (req) => ({ method: req.method, url: redactUrl(req.url), remoteAddress: req.ip }),
            },
          },
  });
  const hub = new Hub();
  const service = new BrokerService({
    store: opts.store,
    hub,
    now,
    publicUrl: opts.publicUrl,
    consentTimeoutMs: opts.consentTimeoutMs ?? 120_000,
    log: app.log,
  });

  app.decorateRequest("technician", null);

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string; validation?: unknown }, req, reply) => {
    if (err instanceof TetherError) {
      return reply.status(err.statusCode).send(errorBody(err.statusCode, err.code, err.message));
    }
    const status = err.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      // Fastify's own client errors (bad JSON, wrong content type, body too large): keep their message.
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
  await app.register(websocket, { options: { maxPayload: MAX_FRAME_BYTES } });

  // Security headers on everything; pages set their own CSP.
  app.addHook("onSend", async (_req, reply, payload) => {
    reply.header("x-content-type-options", "nosniff");
    reply.header("referrer-policy", "no-referrer");
    if (!reply.hasHeader("content-security-policy")) reply.header("content-security-policy", "default-src 'none'; frame-ancestors 'none'");
    if (!reply.hasHeader("cache-control")) reply.header("cache-control", "no-store");
    return payload;
  });

  /** Resolves the caller's technician from a Bearer token or the login cookie; 401 otherwise. */
  const authenticate = async (req: FastifyRequest) => {
    const header = req.headers.authorization ?? "";
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    const token = m?.[1] ?? cookie(req, SESSION_COOKIE);
    const tech = token && token.length <= 200 ? opts.store.technicianByToken(token, now()) : undefined;
    if (!tech) throw new TetherError("TETHER_ERR_UNAUTHORIZED");
    // A cookie is sent by the browser on its own: require the request to come from our origin.
    if (!m) checkOrigin(req);
    req.technician = tech;
  };
  const checkOrigin = (req: FastifyRequest) => {
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== new URL(opts.publicUrl()).origin && origin !== `http://${req.headers.host}`) {
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
  const linkSession = (code: string) => {
    const s = SESSION_CODE_PATTERN.test(code) ? opts.store.sessionByCodeHash(hashSecret(code)) : opts.store.sessionByCodeHash(hashSecret("-"));
    return s && linkAvailable(s, now()) ? s : null;
  };
  const appSize = () => {
    try {
      return opts.supportApp ? statSync(opts.supportApp.file).size : null;
    } catch {
      return null;
    }
  };
  const fileName = (sessionId: string) => `tether-support-${sessionId.replace(/^s_/, "").slice(0, 8)}`;

  app.get<{ Params: { code: string } }>(`${LINK_PATH}:code`, async (req, reply) => {
    const s = linkSession(req.params.code);
    if (!s) return goneLinkPage(req, reply);
    const size = appSize();
    return linkPage(req, reply, {
      organization: opts.organization ?? "Tether",
      technician: opts.store.technicianById(s.technicianId)?.displayName ?? "",
      fileName: fileName(s.id),
      downloadPath: `${LINK_PATH}${req.params.code}/download`,
      downloadAvailable: size !== null,
      sizeMb: size === null ? null : Math.round(size / 1e6),
    });
  });

  app.get<{ Params: { code: string } }>(`${LINK_PATH}:code/download`, async (req, reply) => {
    const s = linkSession(req.params.code);
    if (!s) return goneLinkPage(req, reply);
    const size = appSize();
    if (!opts.supportApp || size === null) {
      req.log.warn("support app download asked for, but no support app is built: run npm run build:app");
      throw new TetherError("TETHER_ERR_APP_UNAVAILABLE");
    }
    // A prebuilt executable plus a signed trailer per download: no rebuild, no copy on disk.
    const trailer = makeTrailer(
      { v: 1, broker: opts.publicUrl(), code: req.params.code, session: s.id, issuedAt: now() },
      opts.supportApp.signingKey,
    );
    const file = opts.supportApp.file;
    const body = Readable.from(
      (async function* () {
        yield* createReadStream(file);
        yield trailer;
      })(),
    );
    req.log.info({ sessionId: s.id }, "support app downloaded");
    return reply
      .header("content-type", "application/octet-stream")
      .header("content-disposition", `attachment; filename="${fileName(s.id)}"`)
      .header("content-length", String(size + trailer.length))
      .send(body);
  });

  app.post(
    "/api/login",
    { config: { rateLimit: { max: opts.loginLimitPerMinute ?? 10, timeWindow: 60_000 } } },
    async (req, reply) => {
      const body = bodyObject(req.body);
      const name = typeof body.name === "string" ? body.name : "";
      const password = typeof body.password === "string" ? body.password : "";
      if (!name || !password) throw new TetherError("TETHER_ERR_BAD_REQUEST", "name and password are required.");
      const t = opts.store.technicianByName(name);
      // Hash even for unknown names so timing does not tell which names exist.
      const ok = t?.passwordHash ? await verifyPassword(password, t.passwordHash) : (await hashPassword(password), false);
      if (!t || !ok) {
        req.log.warn({ name: name.slice(0, 64) }, "login failed");
        throw new TetherError("TETHER_ERR_LOGIN_FAILED");
      }
      const expiresAt = now() + LOGIN_TTL_MS;
      const token = opts.store.createToken(t.id, "login", now(), expiresAt);
      const secure = opts.publicUrl().startsWith("https:") ? "; Secure" : "";
      reply.header(
        "set-cookie",
        `${SESSION_COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${LOGIN_TTL_MS / 1000}${secure}`,
      );
      return { token, expiresAt: new Date(expiresAt).toISOString(), technician: { name: t.name, displayName: t.displayName } };
    },
  );

  // ---- technician API (every route authenticated) --------------------------------------------

  await app.register(async (api) => {
    api.addHook("onRequest", authenticate);

    api.post("/api/logout", async (req, reply) => {
      const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? "");
      const token = m?.[1] ?? cookie(req, SESSION_COOKIE);
      if (token) opts.store.deleteToken(token);
      reply.header("set-cookie", `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`);
      return reply.status(204).send();
    });

    api.get("/api/me", async (req) => ({ name: tech(req).name, displayName: tech(req).displayName }));

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

    api.post<{ Params: { id: string } }>("/api/sessions/:id/access-requests", async (req, reply) => {
      const scope = bodyObject(req.body).scope;
      if (scope !== "view" && scope !== "control") {
        throw new TetherError("TETHER_ERR_BAD_REQUEST", 'scope must be "view" or "control".');
      }
      const r = service.requestAccess(tech(req), req.params.id, scope as Scope);
      return reply.status(202).send(service.accessView(r));
    });

    api.get<{ Params: { id: string; rid: string } }>("/api/sessions/:id/access-requests/:rid", async (req) =>
      service.accessView(service.ownAccessRequest(tech(req), req.params.id, req.params.rid)),
    );

    api.get("/ws/console", { websocket: true }, (socket, req) =>
      handleConsoleSocket(socket, {
        service,
        hub,
        technician: tech(req),
        log: req.log,
        iceServers: iceServers(opts.ice, tech(req).id, now()),
      }),
    );
  });

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
      }),
  );

  app.addHook("onClose", async () => {
    hub.closeAll();
    service.dispose();
  });

  return { app, service, hub };
}
