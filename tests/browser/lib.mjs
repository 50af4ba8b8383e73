// Shared helpers of the browser tests: the server under test (`switchboard serve --demo` on a
// fresh temporary database), the SMS stand-in's phones, and small Playwright helpers.
//
// Env:   SWITCHBOARD_BIN  server binary      (default ../../target/debug/switchboard)
//        CHROMIUM_PATH    browser executable (default /usr/bin/chromium)
//        SCREENSHOT_DIR   where PNGs go       (default ../../target/screenshots)
//        HEADED=1         show the browser (needs a display)

import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
export const BIN = path.resolve(here, process.env.SWITCHBOARD_BIN || "../../target/debug/switchboard");
export const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
export const SHOTS = path.resolve(here, process.env.SCREENSHOT_DIR || "../../target/screenshots");

export const ADMIN_EMAIL = "admin@demo.switchboard.test";
export const ADMIN_PASSWORD = "switchboard-demo";

/** A test's own assertion failure: reported by its message alone, without a stack. */
export class Failure extends Error {}
export function fail(message) {
  throw new Failure(message);
}
const running = new Set(); // server processes to kill if this process exits early
// Progress goes to stderr: under `node --test` a test file's stdout is the channel its results
// reach the runner by, and Node 20's reader of that channel has failed on text mixed into it
// ("Unable to deserialize cloned data", nodejs/node#64061).
export function log(message) {
  process.stderr.write(`  · ${message}\n`);
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---------------------------------------------------------------------------------------------
// The server under test

/**
 * Starts `switchboard serve --demo` in a fresh temp dir; resolves once /healthz answers. With
 * `again` (a server stopped by `restartServer`), starts on its directory, database and ports.
 */
export async function startServer(again = null) {
  if (!fs.existsSync(BIN)) {
    fail(`server binary not found at ${BIN}: run \`cargo build -p switchboard\` or set SWITCHBOARD_BIN`);
  }
  const dir = again?.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), "switchboard-browser-"));
  // Nothing from the caller's environment may point the server at a real provider or database.
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(SWITCHBOARD_|TWILIO_|STRIPE_|DATABASE_URL)/.test(k)) env[k] = v;
  }
  env.RUST_LOG = env.RUST_LOG || "info";
  const args = [
    "serve", "--demo",
    "--listen", again ? new URL(again.base).host : "127.0.0.1:0",
    "--standin-listen", again ? new URL(again.standin).host : "127.0.0.1:0",
    "--database", path.join(dir, "sb.db"),
    "--data-dir", path.join(dir, "data"),
  ];
  const child = spawn(BIN, args, { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] });
  running.add(child);
  const server = { child, dir, output: "", base: null, standin: null, exited: null };
  const onData = (chunk) => {
    server.output += chunk.toString();
    if (server.output.length > 200_000) server.output = server.output.slice(-100_000);
  };
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);
  child.on("exit", (code, signal) => {
    server.exited = { code, signal };
  });

  const deadline = Date.now() + 30_000;
  while (!server.base || !server.standin) {
    if (server.exited) fail(`server exited early (${JSON.stringify(server.exited)}):\n${server.output}`);
    if (Date.now() > deadline) fail(`server did not print its URLs within 30 s:\n${server.output}`);
    server.base ??= server.output.match(/Sign in at (http:\/\/127\.0\.0\.1:\d+)\/login/)?.[1] ?? null;
    server.standin ??= server.output.match(/phones:\s+(http:\/\/127\.0\.0\.1:\d+)\/?\s/)?.[1] ?? null;
    await sleep(50);
  }
  while (true) {
    if (server.exited) fail(`server exited (${JSON.stringify(server.exited)}):\n${server.output}`);
    if (Date.now() > deadline) fail(`${server.base}/healthz did not answer 200 within 30 s:\n${server.output}`);
    try {
      const r = await fetch(`${server.base}/healthz`);
      if (r.ok) break;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  return server;
}

/**
 * Stops the server with SIGTERM and starts it again on the same database and ports (pages
 * left open reconnect to it). Resolves to the new server and how long the old one took to
 * exit, in ms; fails if it did not exit within 10 s.
 */
export async function restartServer(server) {
  const exited = server.exited ? Promise.resolve() : new Promise((resolve) => server.child.once("exit", resolve));
  const asked = Date.now();
  server.child.kill("SIGTERM");
  let timer;
  const late = new Promise((resolve) => (timer = setTimeout(resolve, 10_000, false)));
  const stopped = await Promise.race([exited.then(() => true), late]);
  clearTimeout(timer);
  if (!stopped) fail(`the server was still running 10 s after SIGTERM:\n${server.output}`);
  running.delete(server.child);
  const tookMs = Date.now() - asked;
  return { server: await startServer(server), tookMs };
}

/** SIGTERM (graceful), then SIGKILL after 5 s; removes the temp dir. Safe to call twice. */
export async function stopServer(server) {
  if (!server) return;
  const { child } = server;
  if (!server.exited) {
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    let timer;
    const grace = new Promise((resolve) => (timer = setTimeout(resolve, 5_000, false)));
    const stopped = await Promise.race([exited.then(() => true), grace]);
    clearTimeout(timer);
    if (!stopped) {
      child.kill("SIGKILL");
      await exited;
    }
  }
  running.delete(child);
  fs.rmSync(server.dir, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------
// The SMS stand-in's phones

/** Texts `body` from the stand-in phone `from` to `to` (a brand's number), as a customer would. */
export async function textFrom(server, from, to, body) {
  const r = await fetch(`${server.standin}/phones/${encodeURIComponent(from)}`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ to, body }),
    redirect: "manual",
  });
  if (r.status !== 303) fail(`the stand-in did not deliver the text from ${from}: ${r.status} ${await r.text()}`);
}

/** The texts the stand-in's page for `phone` shows, oldest first (as its HTML has them). */
export function standinTexts(html) {
  return [...html.matchAll(/<div class='bubble [^']*'>([^<]*)<\/div>/g)].map((m) => m[1]);
}

/**
 * Polls the stand-in's page for `phone` until a text carries a link matching `linkRe` (a
 * global regex), and resolves to the latest such link. `what` names the link in the failure
 * ("portal link"); `skip` lists links already seen, to wait for a new one.
 */
export async function linkFromStandin(server, phone, linkRe, { what = "link", skip = [], timeoutMs = 15_000 } = {}) {
  const url = `${server.standin}/phones/${encodeURIComponent(phone)}`;
  const deadline = Date.now() + timeoutMs;
  let html = "";
  while (Date.now() < deadline) {
    const r = await fetch(url);
    html = await r.text();
    const links = (html.match(linkRe) ?? []).filter((l) => !skip.includes(l));
    if (r.ok && links.length) return { link: links[links.length - 1], html };
    await sleep(200);
  }
  const texts = standinTexts(html);
  fail(
    `no ${skip.length ? "new " : ""}${what} texted to ${phone} within ${timeoutMs / 1000} s (${url}); texts there: ` +
      (texts.length ? JSON.stringify(texts) : "none"),
  );
}

/** Link patterns of the texts: a technician's portal, a customer's arrival tracking page. */
export const PORTAL_LINK = /https?:\/\/[^\s"'<>]+\/p\/[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])/g;
export const TRACKING_LINK = /https?:\/\/[^\s"'<>]+\/t\/[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])/g;

// ---------------------------------------------------------------------------------------------
// Browser helpers

/** Debian's Chromium through playwright-core (no browser is ever downloaded). */
export async function launchBrowser() {
  if (!fs.existsSync(CHROMIUM)) fail(`no browser at ${CHROMIUM}: apt-get install chromium, or set CHROMIUM_PATH`);
  return chromium.launch({ executablePath: CHROMIUM, headless: !process.env.HEADED });
}

/** Where the pages' maps get their tiles (the server's default; unreachable from tests). */
export const TILE_ORIGIN = "https://tile.openstreetmap.org";

/**
 * Makes every map tile request of the context fail at once (no network here, and a test must
 * not depend on it). Resolves to `{ aborted, isTileError }`: how many tile loads were refused,
 * and a `watchConsole` filter that passes over the console errors of exactly those loads.
 */
export async function blockMapTiles(context) {
  const blocked = { aborted: 0 };
  await context.route(`${TILE_ORIGIN}/**`, (route) => {
    blocked.aborted++;
    return route.abort("internetdisconnected");
  });
  blocked.isTileError = (msg, where) => where.startsWith(`${TILE_ORIGIN}/`) && /Failed to load resource/.test(msg);
  return blocked;
}

/** Collects console errors and uncaught page errors of every page in a context. */
export function watchConsole(context, label, errors, ignore = () => false) {
  context.on("console", (msg) => {
    if (msg.type() !== "error") return;
    const where = msg.location()?.url || "";
    const page = msg.page()?.url() || "?";
    if (ignore(msg.text(), where)) return;
    const origin = where && where !== page ? ` (from ${where.replace(/^https?:\/\/[^/]+/, "")})` : "";
    errors.push(`[${label}] console error on page ${page}${origin}: ${msg.text().trim()}`);
  });
  context.on("weberror", (e) => {
    errors.push(`[${label}] uncaught page error on ${e.page()?.url() ?? "?"}: ${e.error().message}`);
  });
}

/** The locator's text with whitespace collapsed. */
export async function text(locator) {
  return ((await locator.textContent()) ?? "").replace(/\s+/g, " ").trim();
}

/** A full-page PNG in SHOTS. */
export async function shot(page, name, opts = {}) {
  fs.mkdirSync(SHOTS, { recursive: true });
  const file = path.join(SHOTS, name);
  await page.screenshot({ path: file, fullPage: true, ...opts });
  log(`screenshot ${path.relative(process.cwd(), file)}`);
}

/** Removes the `failure-*.png` left by an earlier run of the test whose shots start with `prefix`. */
export function clearFailureShots(prefix = "failure-") {
  for (const f of fs.existsSync(SHOTS) ? fs.readdirSync(SHOTS) : []) {
    if (f.startsWith(prefix)) fs.rmSync(path.join(SHOTS, f));
  }
}

/**
 * The page must not scroll sideways (phone layouts), and nothing may stick out of the card it
 * is in (a field or button past a card's edge), unless it is inside something that scrolls.
 */
export async function assertNoHorizontalScroll(page, what) {
  const m = await page.evaluate(() => {
    const name = (e) => `${e.tagName.toLowerCase()}${e.className ? "." + String(e.className).split(" ").join(".") : ""}`;
    const spills = [];
    for (const card of document.querySelectorAll(".card, .portal-card")) {
      // A card that scrolls sideways shows all of it; one that clips hides what is past its edge.
      if (["auto", "scroll"].includes(getComputedStyle(card).overflowX)) continue;
      const edge = card.getBoundingClientRect().right;
      for (const e of card.querySelectorAll("*")) {
        const r = e.getBoundingClientRect();
        if (r.width <= 1 || r.right <= edge + 1 || getComputedStyle(e).position === "fixed") continue;
        let clipped = false;
        for (let a = e.parentElement; a && a !== card; a = a.parentElement) {
          if (getComputedStyle(a).overflowX !== "visible") clipped = true;
        }
        if (!clipped) spills.push(`${name(e)} (${Math.round(r.right - edge)}px past ${name(card)})`);
      }
    }
    return {
      scroll: document.documentElement.scrollWidth,
      client: document.documentElement.clientWidth,
      wide: [...document.querySelectorAll("body *")]
        .filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
        .slice(0, 5)
        .map(name),
      spills: spills.slice(0, 5),
    };
  });
  if (m.scroll > m.client) {
    fail(`${what} scrolls sideways on a ${m.client}px-wide phone (content is ${m.scroll}px wide; widest: ${m.wide.join(", ")})`);
  }
  if (m.spills.length) fail(`${what}: on a ${m.client}px-wide phone, these stick out of their card: ${m.spills.join(", ")}`);
}

/**
 * Rethrows a test's error with what helps to read it: the browser console errors collected
 * so far and the end of the server's output. A `Failure` is shown by its message alone.
 */
export function explain(e, errors, server) {
  const extra = [];
  if (errors.length && !String(e.message).includes("browser console errors")) {
    extra.push(`browser console errors:\n  ${errors.join("\n  ")}`);
  }
  if (server) extra.push(`server output (last 4000 chars):\n${server.output.slice(-4000)}`);
  if (e instanceof Failure || extra.length) {
    const err = new Error(`${e.message}\n\n${extra.join("\n\n")}`);
    err.stack = e instanceof Failure ? err.message : `${err.message}\n${e.stack}`;
    return err;
  }
  return e;
}

// ---------------------------------------------------------------------------------------------
// The office

/** Signs the demo admin in on `page`; resolves once the browser has left /login. */
/**
 * The demo organization's JSON API: a key made with `switchboard api-key create` on the
 * server's database, and `api(method, path, body)` that fails the test on any status but 2xx.
 */
export function demoApi(server) {
  const made = spawnSync(BIN, ["api-key", "create", "--org", "demo", "--name", "browser-test", "--database", path.join(server.dir, "sb.db")], { encoding: "utf8" });
  if (made.status !== 0) fail(`switchboard api-key create failed: ${made.stderr}`);
  const key = made.stdout.trim();
  return async (method, p, body) => {
    const r = await fetch(`${server.base}/api/v1${p}`, { method, headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" }, body: body && JSON.stringify(body) });
    if (!r.ok) fail(`${method} ${p}: ${r.status} ${await r.text()}`);
    return r.json();
  };
}

export async function signIn(page, server) {
  await page.goto(`${server.base}/login`);
  await page.locator('input[name="email"]').fill(ADMIN_EMAIL);
  await page.locator('input[name="password"]').fill(ADMIN_PASSWORD);
  await Promise.all([
    page.waitForURL((u) => !u.pathname.startsWith("/login")),
    page.locator('form:has(input[name="password"]) [type="submit"], form:has(input[name="password"]) button').first().click(),
  ]);
  log(`signed in, landed on ${new URL(page.url()).pathname}`);
}

/** Opens the job page of `code` ("J-2202") by its link in the /jobs table; resolves to its id. */
export async function openJob(page, server, code) {
  await page.goto(`${server.base}/jobs`);
  const jobLink = page.getByRole("link", { name: code, exact: true }).first();
  if ((await jobLink.count()) === 0) fail(`no ${code} link in the /jobs table`);
  const jobHref = await jobLink.getAttribute("href");
  const jobId = jobHref?.match(/^\/jobs\/(\d+)$/)?.[1] ?? fail(`${code} link has an unexpected href ${jobHref}`);
  await Promise.all([page.waitForURL(`**/jobs/${jobId}`), jobLink.click()]);
  return jobId;
}

// Never leave a server behind, even if the runner is interrupted or crashes.
process.on("exit", () => {
  for (const child of running) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
});
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.once(sig, () => process.exit(130));
}

/** A made-up link gets the plain 404 page with this heading, fit for a phone. */
export async function assertDeadLink(context, url, heading, what) {
  const g = await context.newPage();
  const r = await g.goto(url);
  if (r?.status() !== 404) fail(`${url} answered ${r?.status()}, expected 404`);
  const h1 = await text(g.locator("h1"));
  if (h1 !== heading) fail(`made-up ${what} link shows "${h1}", expected "${heading}"`);
  await assertNoHorizontalScroll(g, `the ${what} invalid-link page`);
  log(`made-up token: 404 "${h1}"`);
  await g.close();
}

/** Fails on any console error collected so far (waiting a moment for late ones, e.g. an SSE reconnect). */
export async function assertNoConsoleErrors(errors, started) {
  await sleep(300);
  if (errors.length) fail(`browser console errors:\n  ${errors.join("\n  ")}`);
  log(`passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

// ---------------------------------------------------------------------------------------------
// Accessibility

const require = createRequire(import.meta.url);
const AXE_SOURCE = fs.readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

/**
 * Runs axe (WCAG 2.1 A/AA and best practices) on the page, injected as a script (the context
 * needs `bypassCSP`); returns its serious and critical violations, one line each.
 */
export async function axeViolations(page, label) {
  await page.addScriptTag({ content: AXE_SOURCE });
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] } });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 4).map((n) => `${n.target.join(" ")}${n.any[0]?.message ? ` (${n.any[0].message})` : ""}`),
      count: v.nodes.length,
    }));
  });
  return result
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${label}: ${v.impact} ${v.id} "${v.help}" on ${v.count} element(s): ${v.nodes.join("; ")}`);
}

