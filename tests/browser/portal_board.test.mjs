// End-to-end browser test: the technician portal and the dispatch board work together.
//
// Starts `switchboard serve --demo` on a fresh temporary database, then drives headless
// Chromium (Debian's /usr/bin/chromium through playwright-core; no browser is downloaded):
//
//   office (desktop)  sign in, assign Maria Reyes to J-2202, open the Summit board: "Scheduled"
//   stand-in phone    Maria's texted portal link arrives at the SMS stand-in
//   Maria (phone)     open the link, J-2202 is listed, open it, tap "On my way": "En route"
//   office (desktop)  the board, never reloaded, turns J-2202 "En route" over Server-Sent Events
//
// plus: a made-up portal token gets the "This link isn't valid" page with status 404, no
// console errors in either browser context, and the phone pages never scroll sideways.
//
// Run:   cd tests/browser && npm ci && node --test portal_board.test.mjs
// Env:   SWITCHBOARD_BIN  server binary      (default ../../target/debug/switchboard)
//        CHROMIUM_PATH    browser executable (default /usr/bin/chromium)
//        SCREENSHOT_DIR   where PNGs go       (default ../../target/screenshots)
//        HEADED=1         show the browser (needs a display)

import { test } from "node:test";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
const BIN = path.resolve(here, process.env.SWITCHBOARD_BIN || "../../target/debug/switchboard");
const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const SHOTS = path.resolve(here, process.env.SCREENSHOT_DIR || "../../target/screenshots");

const ADMIN_EMAIL = "admin@demo.switchboard.test";
const ADMIN_PASSWORD = "switchboard-demo";
const BRAND = "Summit Home Services";
const JOB_CODE = "J-2202";
const TECH_NAME = "Maria Reyes";
const TECH_PHONE = "+17205550122";
const LIVE_UPDATE_MS = 10_000;

class Failure extends Error {}
function fail(message) {
  throw new Failure(message);
}
const running = new Set(); // server processes to kill if this process exits early
function log(message) {
  console.log(`  · ${message}`);
}

// ---------------------------------------------------------------------------------------------
// The server under test

/** Starts `switchboard serve --demo` in a fresh temp dir; resolves once /healthz answers. */
async function startServer() {
  if (!fs.existsSync(BIN)) {
    fail(`server binary not found at ${BIN}: run \`cargo build -p switchboard\` or set SWITCHBOARD_BIN`);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "switchboard-browser-"));
  // Nothing from the caller's environment may point the server at a real provider or database.
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(SWITCHBOARD_|TWILIO_|DATABASE_URL)/.test(k)) env[k] = v;
  }
  env.RUST_LOG = env.RUST_LOG || "info";
  const args = [
    "serve", "--demo",
    "--listen", "127.0.0.1:0",
    "--standin-listen", "127.0.0.1:0",
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

/** SIGTERM (graceful), then SIGKILL after 5 s; removes the temp dir. Safe to call twice. */
async function stopServer(server) {
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
  fs.rmSync(server.dir, { recursive: true, force: true });
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls the stand-in's page for the phone until a text with a portal link has arrived. */
async function portalLinkFromStandin(server, phone, timeoutMs = 15_000) {
  const url = `${server.standin}/phones/${encodeURIComponent(phone)}`;
  const linkRe = /https?:\/\/[^\s"'<>]+\/p\/[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])/g;
  const deadline = Date.now() + timeoutMs;
  let html = "";
  while (Date.now() < deadline) {
    const r = await fetch(url);
    html = await r.text();
    const links = html.match(linkRe);
    if (r.ok && links) return { link: links[links.length - 1], html };
    await sleep(250);
  }
  const texts = [...html.matchAll(/<div class='bubble [^']*'>([^<]*)<\/div>/g)].map((m) => m[1]);
  fail(
    `no portal link texted to ${phone} within ${timeoutMs / 1000} s (${url}); texts there: ` +
      (texts.length ? JSON.stringify(texts) : "none"),
  );
}

// ---------------------------------------------------------------------------------------------
// Browser helpers

/** Collects console errors and uncaught page errors of every page in a context. */
function watchConsole(context, label, errors, ignore = () => false) {
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

async function text(locator) {
  return ((await locator.textContent()) ?? "").replace(/\s+/g, " ").trim();
}

async function shot(page, name, opts = {}) {
  fs.mkdirSync(SHOTS, { recursive: true });
  const file = path.join(SHOTS, name);
  await page.screenshot({ path: file, fullPage: true, ...opts });
  log(`screenshot ${path.relative(process.cwd(), file)}`);
}

/** The page must not scroll sideways (phone layouts). */
async function assertNoHorizontalScroll(page, what) {
  const m = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    client: document.documentElement.clientWidth,
    wide: [...document.querySelectorAll("body *")]
      .filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
      .slice(0, 5)
      .map((e) => `${e.tagName.toLowerCase()}${e.className ? "." + String(e.className).split(" ").join(".") : ""}`),
  }));
  if (m.scroll > m.client) {
    fail(`${what} scrolls sideways on a ${m.client}px-wide phone (content is ${m.scroll}px wide; widest: ${m.wide.join(", ")})`);
  }
}

/** Text of the status of every block of a job on the board (a team job has one per lane). */
async function boardStatuses(page, jobId) {
  return page.locator(`#board-live .job-block[data-job="${jobId}"] .job-block-status`).allTextContents();
}

// ---------------------------------------------------------------------------------------------
// The test

test("technician portal and dispatch board work together", { timeout: 120_000 }, async () => {
  const started = Date.now();
  const errors = [];
  let server;
  let browser;
  const pages = {};
  try {
    for (const f of fs.existsSync(SHOTS) ? fs.readdirSync(SHOTS) : []) {
      if (f.startsWith("failure-")) fs.rmSync(path.join(SHOTS, f));
    }
    server = await startServer();
    log(`server up at ${server.base} (stand-in ${server.standin}) in ${Date.now() - started} ms`);

    if (!fs.existsSync(CHROMIUM)) fail(`no browser at ${CHROMIUM}: apt-get install chromium, or set CHROMIUM_PATH`);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: !process.env.HEADED });

    // --- Context A: the office, on a desktop --------------------------------------------------
    const office = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: "en-US" });
    watchConsole(office, "office", errors);
    const a = (pages.office = await office.newPage());
    a.setDefaultTimeout(10_000);

    await a.goto(`${server.base}/login`);
    await a.locator('input[name="email"]').fill(ADMIN_EMAIL);
    await a.locator('input[name="password"]').fill(ADMIN_PASSWORD);
    await Promise.all([
      a.waitForURL((u) => !u.pathname.startsWith("/login")),
      a.locator('form:has(input[name="password"]) [type="submit"], form:has(input[name="password"]) button').first().click(),
    ]);
    log(`signed in, landed on ${new URL(a.url()).pathname}`);

    await a.goto(`${server.base}/jobs`);
    const jobLink = a.getByRole("link", { name: JOB_CODE, exact: true }).first();
    if ((await jobLink.count()) === 0) fail(`no ${JOB_CODE} link in the /jobs table`);
    const jobHref = await jobLink.getAttribute("href");
    const jobId = jobHref?.match(/^\/jobs\/(\d+)$/)?.[1] ?? fail(`${JOB_CODE} link has an unexpected href ${jobHref}`);
    await Promise.all([a.waitForURL(`**/jobs/${jobId}`), jobLink.click()]);
    const jobStatus = await text(a.locator("#job-status"));
    if (jobStatus !== "Scheduled") fail(`job page of ${JOB_CODE}: status is "${jobStatus}", expected "Scheduled"`);

    const techCard = a.locator("section.card", { has: a.getByRole("heading", { name: "Technicians" }) });
    const maria = techCard.locator("label", { hasText: TECH_NAME }).locator('input[name="tech"]');
    if ((await maria.count()) !== 1) fail(`no "${TECH_NAME}" checkbox in the Technicians card of ${JOB_CODE}`);
    if (await maria.isChecked()) fail(`${TECH_NAME} is already assigned to ${JOB_CODE} in the demo data`);
    await maria.check();
    await Promise.all([
      a.waitForEvent("framenavigated", (f) => f === a.mainFrame()),
      techCard.getByRole("button", { name: "Save technicians" }).click(),
    ]);
    await a.waitForLoadState("load");
    await a.locator(".alert.success").waitFor();
    const notice = await text(a.locator(".alert.success"));
    if (!/Technicians updated/.test(notice)) fail(`after saving technicians: notice "${notice}"`);
    if (!(await techCard.locator("label", { hasText: TECH_NAME }).locator('input[name="tech"]').isChecked())) {
      fail(`${TECH_NAME} is not checked on ${JOB_CODE} after "Save technicians"`);
    }
    log(`assigned ${TECH_NAME} to ${JOB_CODE} (job ${jobId})`);
    await shot(a, "job-page.png");

    // The Summit board, reached through its brand tab.
    await a.goto(`${server.base}/board`);
    const tab = a.locator(".board-toolbar .tabs a", { hasText: BRAND });
    if ((await tab.count()) !== 1) fail(`no "${BRAND}" tab on the board`);
    await Promise.all([a.waitForURL(/\/board\?brand=\d+/), tab.click()]);
    const brandId = new URL(a.url()).searchParams.get("brand");
    const before = await boardStatuses(a, jobId);
    if (before.length === 0) fail(`${JOB_CODE} (job ${jobId}) is not on the ${BRAND} board (brand ${brandId})`);
    if (!before.every((s) => s.trim() === "Scheduled")) {
      fail(`${JOB_CODE} on the board shows ${JSON.stringify(before)}, expected "Scheduled"`);
    }
    const lanes = await a
      .locator(`#board-live .lane:has(.job-block[data-job="${jobId}"]) .lane-label strong`)
      .allTextContents();
    if (!lanes.includes(TECH_NAME)) fail(`${JOB_CODE} is not in ${TECH_NAME}'s lane on the board (lanes: ${JSON.stringify(lanes)})`);
    log(`board: ${JOB_CODE} "Scheduled" in lanes ${JSON.stringify(lanes)}`);

    // From here on the board must update by itself: mark the document to prove no reload.
    await a.evaluate(() => {
      window.__boardMarker = "still-the-same-document";
    });
    let boardNavigations = 0;
    a.on("framenavigated", (f) => {
      if (f === a.mainFrame()) boardNavigations++;
    });
    await waitForSse(a);

    // --- The texted link ----------------------------------------------------------------------
    const t0 = Date.now();
    const { link } = await portalLinkFromStandin(server, TECH_PHONE);
    if (!link.startsWith(`${server.base}/p/`)) fail(`portal link ${link} does not point at the server ${server.base}`);
    log(`portal link texted to ${TECH_PHONE} after ${Date.now() - t0} ms: ${link.replace(/[^/]{39}$/, "…")}`);

    // --- Context B: Maria's phone -------------------------------------------------------------
    const phone = await browser.newContext({
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
      locale: "en-US",
      permissions: ["geolocation"],
      geolocation: { latitude: 39.7392, longitude: -104.9903, accuracy: 20 },
    });
    const garbageUrl = `${server.base}/p/${"A".repeat(43)}`;
    // The one expected console error: the browser reports the deliberate 404 below.
    watchConsole(phone, "phone", errors, (msg, where) => where === garbageUrl && /\b404\b/.test(msg));
    const b = (pages.phone = await phone.newPage());
    b.setDefaultTimeout(10_000);

    const stopsResp = await b.goto(link);
    if (stopsResp?.status() !== 200) fail(`portal link answered ${stopsResp?.status()}, expected 200`);
    const stop = b.locator(`a.stop-link[data-stop="${JOB_CODE}"]`);
    if ((await stop.count()) !== 1) {
      fail(`${JOB_CODE} is not among Maria's stops (listed: ${JSON.stringify(await b.locator("a.stop-link").evaluateAll((l) => l.map((e) => e.dataset.stop)))})`);
    }
    await assertNoHorizontalScroll(b, "the portal's stop list");
    await shot(b, "portal-stops.png");

    await Promise.all([b.waitForURL(`**/p/*/jobs/${jobId}`), stop.tap()]);
    let badge = await text(b.locator("#portal-status"));
    if (badge !== "Scheduled") fail(`portal job page: badge "${badge}", expected "Scheduled" before "On my way"`);
    const onMyWay = b.getByRole("button", { name: "On my way" });
    if ((await onMyWay.count()) !== 1) fail(`no "On my way" button on the portal job page`);
    const tapped = Date.now();
    await Promise.all([b.waitForEvent("load"), onMyWay.tap()]);
    badge = await text(b.locator("#portal-status"));
    if (badge !== "En route") fail(`portal job page after "On my way": badge "${badge}", expected "En route"`);
    if ((await b.getByRole("button", { name: "Arrived" }).count()) !== 1) {
      fail(`after "On my way" the portal offers no "Arrived" button`);
    }
    log(`portal: tapped "On my way", badge "En route"`);
    await assertNoHorizontalScroll(b, "the portal's job page");
    await shot(b, "portal-job.png");

    // --- Back on the office board, never reloaded -------------------------------------------------
    try {
      await a.waitForFunction(
        (id) => {
          const s = [...document.querySelectorAll(`#board-live .job-block[data-job="${id}"] .job-block-status`)];
          return s.length > 0 && s.every((e) => e.textContent.trim() === "En route");
        },
        jobId,
        { timeout: LIVE_UPDATE_MS, polling: 100 },
      );
    } catch {
      fail(`the board did not show ${JOB_CODE} "En route" within ${LIVE_UPDATE_MS / 1000} s of the tap ` +
        `(it shows ${JSON.stringify(await boardStatuses(a, jobId))})`);
    }
    const lag = Date.now() - tapped;
    const marker = await a.evaluate(() => window.__boardMarker);
    if (marker !== "still-the-same-document" || boardNavigations !== 0) {
      fail(`the board page reloaded (navigations: ${boardNavigations}); it must update in place over SSE`);
    }
    log(`board: ${JOB_CODE} turned "En route" ${lag} ms after the tap, without a reload`);
    await a.mouse.move(0, 0);
    await shot(a, "board.png");

    // --- A made-up link ---------------------------------------------------------------------------
    const g = await phone.newPage();
    const bad = await g.goto(garbageUrl);
    if (bad?.status() !== 404) fail(`${garbageUrl} answered ${bad?.status()}, expected 404`);
    const h1 = await text(g.locator("h1"));
    if (h1 !== "This link isn't valid") fail(`made-up portal link shows "${h1}", expected "This link isn't valid"`);
    await assertNoHorizontalScroll(g, "the invalid-link page");
    log(`made-up token: 404 "${h1}"`);
    await g.close();

    // Late errors (e.g. an SSE reconnect) still count.
    await sleep(300);
    if (errors.length) fail(`browser console errors:\n  ${errors.join("\n  ")}`);
    log(`passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } catch (e) {
    for (const [name, page] of Object.entries(pages)) {
      await shot(page, `failure-${name}.png`).catch(() => {});
    }
    const extra = [];
    if (errors.length && !String(e.message).includes("browser console errors")) {
      extra.push(`browser console errors:\n  ${errors.join("\n  ")}`);
    }
    if (server) extra.push(`server output (last 4000 chars):\n${server.output.slice(-4000)}`);
    if (e instanceof Failure || extra.length) {
      const err = new Error(`${e.message}\n\n${extra.join("\n\n")}`);
      err.stack = e instanceof Failure ? err.message : `${err.message}\n${e.stack}`;
      throw err;
    }
    throw e;
  } finally {
    await browser?.close().catch(() => {});
    await stopServer(server);
  }
});

/** Waits until the board's EventSource (htmx sse extension) is open, so no event is missed. */
async function waitForSse(page) {
  const ok = await page
    .waitForFunction(
      () => {
        const el = document.querySelector("[sse-connect]");
        const src = el && el["htmx-internal-data"] && el["htmx-internal-data"].sseEventSource;
        return src ? src.readyState === 1 : null; // null: keep waiting
      },
      null,
      { timeout: 5_000, polling: 50 },
    )
    .then(() => true)
    .catch(() => false);
  if (!ok) {
    // Not fatal by itself (the htmx internals may change); the live-update assertion decides.
    log("warning: could not confirm the board's SSE connection is open");
  }
}

// Never leave a server behind, even if the runner is interrupted or crashes.
process.on("exit", () => {
  for (const child of running) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
});
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.once(sig, () => process.exit(130));
}
