/**
 * The HTTP admin API (hono). (Foundation placeholder: only /v1/health.)
 */
import { Hono } from "hono";
import type { Server } from "../server.ts";
import { AKI_VERSION } from "../server.ts";

export function createAdminApp(server: Server): Hono {
  const app = new Hono();
  app.get("/v1/health", (c) =>
    c.json({ status: "ok", version: AKI_VERSION, runtime: server.runtime, uptime: Math.floor((Date.now() - server.startTime) / 1000) }));
  return app;
}
