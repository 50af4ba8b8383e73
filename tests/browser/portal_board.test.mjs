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
// Env:   see lib.mjs (SWITCHBOARD_BIN, CHROMIUM_PATH, SCREENSHOT_DIR, HEADED)

import { test } from "node:test";
import {
  assertDeadLink,
  assertNoConsoleErrors,
  PORTAL_LINK,
  assertNoHorizontalScroll,
  blockMapTiles,
  clearFailureShots,
  explain,
  fail,
  launchBrowser,
  linkFromStandin,
  log,
  openJob,
  shot,
  signIn,
  sleep,
  startServer,
  stopServer,
  text,
  watchConsole,
} from "./lib.mjs";

const BRAND = "Summit Home Services";
const JOB_CODE = "J-2202";
const TECH_NAME = "Maria Reyes";
const TECH_PHONE = "+17205550122";
const LIVE_UPDATE_MS = 10_000;

// ---------------------------------------------------------------------------------------------
// Browser helpers

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
    clearFailureShots();
    server = await startServer();
    log(`server up at ${server.base} (stand-in ${server.standin}) in ${Date.now() - started} ms`);

    browser = await launchBrowser();

    // --- Context A: the office, on a desktop --------------------------------------------------
    const office = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: "en-US" });
    // The job page has a map; its tiles are refused (no network) and their errors not counted.
    const officeTiles = await blockMapTiles(office);
    watchConsole(office, "office", errors, officeTiles.isTileError);
    const a = (pages.office = await office.newPage());
    a.setDefaultTimeout(10_000);

    await signIn(a, server);
    const jobId = await openJob(a, server, JOB_CODE);
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
    const { link } = await linkFromStandin(server, TECH_PHONE, PORTAL_LINK, { what: "portal link" });
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
    await assertDeadLink(phone, garbageUrl, "This link isn't valid", "portal");

    await assertNoConsoleErrors(errors, started);
  } catch (e) {
    for (const [name, page] of Object.entries(pages)) {
      await shot(page, `failure-${name}.png`).catch(() => {});
    }
    throw explain(e, errors, server);
  } finally {
    await browser?.close().catch(() => {});
    await stopServer(server);
  }
});

/** Waits until the board's event stream is open (app.js marks it `data-stream="open"`), so no event is missed. */
async function waitForSse(page) {
  await page.waitForSelector('[sse-connect][data-stream="open"]', { state: "attached", timeout: 10_000 });
}
