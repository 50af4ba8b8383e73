// End-to-end browser test: the customer's arrival tracking page (/t/{token}).
//
// Starts `switchboard serve --demo` on a fresh temporary database (its maps stand-in answers
// routes), then drives headless Chromium (Debian's /usr/bin/chromium through playwright-core):
//
//   verified address    office (desktop) dispatches J-2202 (Dan Okafor, for Rachel Cohen);
//                       Dan's phone shares a location 5 km from the job's pin; Rachel's texted
//                       link (phone) shows "Dan is on the way", Arriving, Distance "by road",
//                       the map with her address and Dan; Dan moves closer and the distance
//                       changes on the open page, without a reload
//   unverified address  office unticks "Location verified" on J-2205 (Maria Reyes, for Tara
//                       Patel) and dispatches it again; Maria shares a location all the same;
//                       Tara's link shows Maria's name and "Heading to" the address, no map and
//                       no arrival time
//   made-up link        404 "This link isn't active"
//
// Map tiles are refused (there is no network here): distances, times and markers must show
// without them. No other console error is allowed in any context, and the phone pages never
// scroll sideways.
//
// Run:   cd tests/browser && npm ci && node --test tracking.test.mjs
// Env:   see lib.mjs (SWITCHBOARD_BIN, CHROMIUM_PATH, SCREENSHOT_DIR, HEADED)

import { test } from "node:test";
import {
  assertDeadLink,
  assertNoConsoleErrors,
  PORTAL_LINK,
  TRACKING_LINK,
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

const ZONE = "America/Denver"; // Summit's
const LIVE_UPDATE_MS = 10_000;

// Demo data (crates/core/src/demo.rs): both Summit jobs, their technician and customer.
const VERIFIED = {
  code: "J-2202",
  tech: { first: "Dan", phone: "+17205550121", rating: "4.9", vehicle: "White Ford Transit #12" },
  customer: { phone: "+17205550134", address: "3902 Tennyson St, Denver, CO 80212" },
};
const UNVERIFIED = {
  code: "J-2205",
  tech: { first: "Maria", phone: "+17205550122" },
  customer: { phone: "+17205550132", address: "2216 W 32nd Ave, Denver, CO 80211" },
};

// ---------------------------------------------------------------------------------------------
// Helpers of this test

/** The point `km` kilometres due north of `p`. */
function north(p, km) {
  return { lat: p.lat + km / 111.32, lon: p.lon };
}

/** Straight-line kilometres between two points (haversine). */
function kmBetween(a, b) {
  const r = (d) => (d * Math.PI) / 180;
  const h = Math.sin(r(b.lat - a.lat) / 2) ** 2 + Math.cos(r(a.lat)) * Math.cos(r(b.lat)) * Math.sin(r(b.lon - a.lon) / 2) ** 2;
  return 2 * 6371 * Math.asin(Math.sqrt(h));
}

/** Miles out of "4.3 mi" (or "800 ft"). */
function parseMiles(s) {
  const mi = s.match(/^(\d+(?:\.\d+)?) mi$/);
  if (mi) return Number(mi[1]);
  const ft = s.match(/^(\d+) ft$/);
  return ft ? Number(ft[1]) / 5280 : NaN;
}

/** Minutes from now (in `ZONE`) until "about 10:20 AM", wrapping at midnight. */
function minutesUntil(eta) {
  const m = eta.match(/^about (\d{1,2}):(\d{2}) (AM|PM)$/);
  if (!m) return NaN;
  const at = ((Number(m[1]) % 12) + (m[3] === "PM" ? 12 : 0)) * 60 + Number(m[2]);
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-US", { timeZone: ZONE, hour: "numeric", minute: "numeric", hourCycle: "h23" })
      .formatToParts(new Date())
      .map((p) => [p.type, p.value]),
  );
  const now = Number(parts.hour) * 60 + Number(parts.minute);
  return (at - now + 24 * 60) % (24 * 60);
}

/** The technician's phone shares its location through their portal link. */
async function shareLocation(portalLink, p) {
  const r = await fetch(`${portalLink}/location`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ lat: p.lat, lon: p.lon, accuracy: 10 }),
  });
  if (r.status !== 204) fail(`POST ${portalLink.replace(/[^/]{39}$/, "…")}/location answered ${r.status}: ${await r.text()}`);
}

/** The job's pin as the job page's Details form shows it. */
async function jobPin(page, code) {
  const lat = Number(await page.locator('input[name="lat"]').inputValue());
  const lon = Number(await page.locator('input[name="lon"]').inputValue());
  if (!Number.isFinite(lat) || !Number.isFinite(lon) || (lat === 0 && lon === 0)) {
    fail(`${code}'s job page has no usable pin (Latitude/Longitude fields: "${lat}", "${lon}")`);
  }
  return { lat, lon };
}

/** Clicks one of the job page's status buttons and waits for the page to come back. */
async function moveJob(page, code, button, expected) {
  const b = page.locator(".status-actions").getByRole("button", { name: button, exact: true });
  if ((await b.count()) !== 1) {
    const offered = await page.locator(".status-actions button").allTextContents();
    fail(`${code}'s job page offers no "${button}" button (offered: ${JSON.stringify(offered.map((s) => s.trim()))})`);
  }
  await Promise.all([page.waitForURL(/\?done=status/), b.click()]);
  const status = await text(page.locator("#job-status"));
  if (status !== expected) fail(`${code} after "${button}": status "${status}", expected "${expected}"`);
}

/** Records each EventSource the page opens, so the test can wait for it to be connected. */
function recordEventSources() {
  const Native = window.EventSource;
  window.__eventSources = [];
  window.EventSource = class extends Native {
    constructor(...args) {
      super(...args);
      window.__eventSources.push(this);
    }
  };
}

/** The tracking page's "Arriving" and "Distance" values ("" when not shown). */
async function etaFigures(page) {
  return page.evaluate(() => {
    const figure = (label) =>
      [...document.querySelectorAll(".tracking-eta > div")]
        .find((d) => d.querySelector(".eyebrow")?.textContent.trim() === label)
        ?.querySelector("strong")
        ?.textContent.trim() ?? "";
    return {
      eta: figure("Arriving"),
      distance: figure("Distance"),
      basis: document.querySelector(".tracking-eta .small")?.textContent.trim() ?? "",
    };
  });
}

/** Both markers are on the map, visible and inside its box. */
async function assertMarkers(page) {
  const m = await page.evaluate(() => {
    const box = (e) => e && e.getBoundingClientRect();
    const map = box(document.querySelector("#tracking-map"));
    const pin = (sel) => {
      const r = box(document.querySelector(`#tracking-map ${sel}`));
      if (!r) return "missing";
      if (r.width < 8 || r.height < 8) return `only ${r.width}x${r.height}px`;
      const cx = r.left + r.width / 2, cy = r.top + r.height / 2;
      const inside = cx >= map.left && cx <= map.right && cy >= map.top && cy <= map.bottom;
      return inside ? "ok" : `outside the map (at ${Math.round(cx)},${Math.round(cy)})`;
    };
    return { map: map && `${Math.round(map.width)}x${Math.round(map.height)}`, home: pin(".pin-home"), tech: pin(".pin-tech") };
  });
  if (m.home !== "ok" || m.tech !== "ok") {
    fail(`tracking map (${m.map}): address marker .pin-home ${m.home}, technician marker .pin-tech ${m.tech}`);
  }
  return m.map;
}

// ---------------------------------------------------------------------------------------------
// The test

test("customer's arrival tracking page, with and without a verified address", { timeout: 60_000 }, async () => {
  const started = Date.now();
  const errors = [];
  let server;
  let browser;
  const pages = {};
  try {
    clearFailureShots("tracking-failure-");
    server = await startServer();
    log(`server up at ${server.base} (stand-in ${server.standin}) in ${Date.now() - started} ms`);
    browser = await launchBrowser();

    // --- The office, on a desktop ----------------------------------------------------------------
    const office = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: "en-US" });
    const officeTiles = await blockMapTiles(office);
    watchConsole(office, "office", errors, officeTiles.isTileError);
    const a = (pages.office = await office.newPage());
    a.setDefaultTimeout(10_000);
    await signIn(a, server);

    // --- The customer's phone --------------------------------------------------------------------
    const phone = await browser.newContext({
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
      locale: "en-US",
      timezoneId: ZONE,
    });
    await phone.addInitScript(recordEventSources);
    const phoneTiles = await blockMapTiles(phone);
    const garbageUrl = `${server.base}/t/${"A".repeat(43)}`;
    // Expected console errors: tile loads, and the browser reporting the deliberate 404.
    watchConsole(phone, "customer", errors, (msg, where) =>
      phoneTiles.isTileError(msg, where) || (where === garbageUrl && /\b404\b/.test(msg)));

    // === 1. Verified address: distance, arrival time and a map ====================================
    const v = VERIFIED;
    await openJob(a, server, v.code);
    if (!(await a.locator('input[name="verified"]').isChecked())) fail(`${v.code}'s pin is not verified in the demo data`);
    const home = await jobPin(a, v.code);
    await moveJob(a, v.code, "Dispatch", "En route");
    log(`${v.code}: pin ${home.lat}, ${home.lon} (verified); dispatched`);

    const { link: danPortal } = await linkFromStandin(server, v.tech.phone, PORTAL_LINK, { what: "portal link" });
    const { link: tracking1, html: rachelTexts } =
      await linkFromStandin(server, v.customer.phone, TRACKING_LINK, { what: "tracking link" });
    if (!tracking1.startsWith(`${server.base}/t/`)) fail(`tracking link ${tracking1} does not point at the server ${server.base}`);
    if (!new RegExp(`${v.tech.first} from Summit Home Services is on the way`).test(rachelTexts)) {
      fail(`the customer's text with the tracking link does not say "${v.tech.first} from Summit Home Services is on the way"`);
    }

    const far = north(home, 5);
    await shareLocation(danPortal, far);
    log(`${v.tech.first} shared a location ${kmBetween(home, far).toFixed(1)} km from the job`);

    const c = (pages.customer = await phone.newPage());
    c.setDefaultTimeout(10_000);
    const resp = await c.goto(tracking1);
    if (resp?.status() !== 200) fail(`tracking link answered ${resp?.status()}, expected 200`);
    const headline = await text(c.locator(".tracking-headline"));
    if (headline !== `${v.tech.first} is on the way`) fail(`tracking page headline "${headline}", expected "${v.tech.first} is on the way"`);

    const first = await etaFigures(c);
    // The maps stand-in drives 1.4 x the straight line at 30 km/h: 5 km -> 7 km, 14 min.
    const road = parseMiles(first.distance);
    if (!(road > 3.1 && road < 5.5)) fail(`Distance "${first.distance}" for a technician 5 km (3.1 mi) away in a straight line`);
    if (first.basis !== "by road") fail(`Distance is labelled "${first.basis}", expected "by road" (the maps stand-in routes)`);
    const mins = minutesUntil(first.eta);
    if (!(mins >= 5 && mins <= 30)) fail(`Arriving "${first.eta}" is ${mins} min from now in ${ZONE}; expected about 14`);
    log(`tracking page: "${headline}", Arriving "${first.eta}" (${mins} min), Distance "${first.distance}" ${first.basis}`);

    const techCard = await text(c.locator(".tracking-tech"));
    for (const want of [v.tech.first, `★ ${v.tech.rating}`, v.tech.vehicle]) {
      if (!techCard.includes(want)) fail(`tracking page's technician card "${techCard}" lacks "${want}"`);
    }
    const photo = c.locator(".tracking-tech img");
    if ((await photo.count()) === 1 && !(await photo.evaluate((i) => i.complete && i.naturalWidth > 0))) {
      fail(`the technician's photo ${await photo.getAttribute("src")} did not load`);
    }
    const dest = await text(c.locator(".tracking-dest"));
    if (!dest.includes(v.customer.address)) fail(`tracking page destination "${dest}" lacks "${v.customer.address}"`);

    // The map: both markers, even though every tile load fails.
    const drawn = await c
      .waitForFunction(() => document.querySelector("#tracking-map .pin-home") && document.querySelector("#tracking-map .pin-tech"),
        null, { timeout: 5_000, polling: 50 })
      .then(() => true, () => false);
    if (!drawn) {
      const shown = await c.locator("#tracking-map .leaflet-marker-icon").evaluateAll((l) => l.map((e) => e.className));
      fail(`the tracking map did not show the address (.pin-home) and the technician (.pin-tech) within 5 s ` +
        `(markers on it: ${JSON.stringify(shown)}; Distance "${first.distance}" is shown, so the technician's point is known)`);
    }
    const mapSize = await assertMarkers(c);
    if (phoneTiles.aborted === 0) fail("the tracking map asked for no tiles (is the map drawn at all?)");
    log(`map ${mapSize} px with both markers; ${phoneTiles.aborted} tile loads refused`);
    await assertNoHorizontalScroll(c, "the tracking page (verified address)");
    await shot(c, "tracking-verified.png");

    // Dan comes closer: the open page follows, without a reload.
    await c.evaluate(() => {
      window.__trackingMarker = "still-the-same-document";
    });
    let navigations = 0;
    c.on("framenavigated", (f) => {
      if (f === c.mainFrame()) navigations++;
    });
    await c
      .waitForFunction(() => window.__eventSources?.some((s) => s.readyState === 1), null, { timeout: 5_000, polling: 50 })
      .catch(() => fail("the tracking page opened no live connection (EventSource to /t/…/events)"));
    const near = north(home, 1);
    const moved = Date.now();
    await shareLocation(danPortal, near);
    try {
      await c.waitForFunction(
        (before) => {
          const strongs = [...document.querySelectorAll(".tracking-eta > div strong")];
          return strongs.length === 2 && strongs[1].textContent.trim() !== before;
        },
        first.distance,
        { timeout: LIVE_UPDATE_MS, polling: 100 },
      );
    } catch {
      fail(`the Distance did not change within ${LIVE_UPDATE_MS / 1000} s of ${v.tech.first} moving to 1 km away ` +
        `(still "${(await etaFigures(c)).distance}")`);
    }
    const lag = Date.now() - moved;
    const second = await etaFigures(c);
    const closer = parseMiles(second.distance);
    if (!(closer > 0.5 && closer < 1.3)) fail(`Distance "${second.distance}" for a technician 1 km (0.6 mi) away in a straight line`);
    if (!(minutesUntil(second.eta) <= mins)) fail(`Arriving went from "${first.eta}" to "${second.eta}" as ${v.tech.first} came closer`);
    if ((await c.evaluate(() => window.__trackingMarker)) !== "still-the-same-document" || navigations !== 0) {
      fail(`the tracking page reloaded (navigations: ${navigations}); it must update in place`);
    }
    // The technician's marker follows (the map frames both again if he left the view).
    const techAt = await c.locator("#tracking-points").getAttribute("data-tech-lat");
    if (Math.abs(Number(techAt) - near.lat) > 1e-5) fail(`the map's technician point is at lat ${techAt}, expected ${near.lat.toFixed(6)}`);
    await assertMarkers(c);
    log(`live: Distance "${first.distance}" -> "${second.distance}", Arriving "${second.eta}", ${lag} ms after the move, no reload`);

    // === 2. Unverified address: who is coming and where, no map ===================================
    const u = UNVERIFIED;
    await openJob(a, server, u.code);
    const details = a.locator("section.card", { has: a.getByRole("heading", { name: "Details" }) });
    const verified = details.locator('input[name="verified"]');
    if (!(await verified.isChecked())) fail(`${u.code}'s pin is not verified in the demo data (the test unticks it)`);
    const uHome = await jobPin(a, u.code);
    await verified.uncheck();
    await Promise.all([a.waitForURL(/\?done=saved/), details.getByRole("button", { name: "Save details" }).click()]);
    if (await a.locator('input[name="verified"]').isChecked()) fail(`"Location verified" is still ticked on ${u.code} after saving`);
    // The demo has J-2205 already en route, sent quietly: send Maria again so Tara is texted.
    const uStatus = await text(a.locator("#job-status"));
    if (uStatus === "En route") await moveJob(a, u.code, "Back to scheduled", "Scheduled");
    await moveJob(a, u.code, "Dispatch", "En route");
    log(`${u.code}: "Location verified" unticked and saved; dispatched`);

    const { link: mariaPortal } = await linkFromStandin(server, u.tech.phone, PORTAL_LINK, { what: "portal link" });
    // A fresh location changes nothing while the address is not verified.
    await shareLocation(mariaPortal, north(uHome, 3));
    const { link: tracking2 } = await linkFromStandin(server, u.customer.phone, TRACKING_LINK, { what: "tracking link" });

    const d = (pages.customer2 = await phone.newPage());
    d.setDefaultTimeout(10_000);
    const resp2 = await d.goto(tracking2);
    if (resp2?.status() !== 200) fail(`tracking link of ${u.code} answered ${resp2?.status()}, expected 200`);
    const headline2 = await text(d.locator(".tracking-headline"));
    if (headline2 !== `${u.tech.first} is on the way`) fail(`unverified: headline "${headline2}", expected "${u.tech.first} is on the way"`);
    const tech2 = await text(d.locator(".tracking-tech"));
    if (!tech2.includes(u.tech.first)) fail(`unverified: technician card "${tech2}" lacks "${u.tech.first}"`);
    const label2 = await text(d.locator(".tracking-dest .eyebrow"));
    const dest2 = await text(d.locator(".tracking-dest"));
    if (label2 !== "Heading to" || !dest2.includes(u.customer.address)) {
      fail(`unverified: destination reads "${dest2}" (label "${label2}"), expected "Heading to" ${u.customer.address}`);
    }
    if ((await d.locator("#tracking-map").count()) !== 0) fail("unverified: the page shows a map (#tracking-map)");
    if ((await d.getByText("Arriving").count()) !== 0) fail(`unverified: the page shows "Arriving": ${await text(d.locator("main"))}`);
    if ((await d.locator(".tracking-eta").count()) !== 0) fail(`unverified: the page shows a distance/ETA block: ${await text(d.locator(".tracking-eta"))}`);
    await assertNoHorizontalScroll(d, "the tracking page (unverified address)");
    log(`unverified: "${headline2}", "${label2}: ${u.customer.address}", no map, no arrival time`);
    await shot(d, "tracking-unverified.png");

    // === 3. A made-up link ==========================================================================
    await assertDeadLink(phone, garbageUrl, "This link isn't active", "tracking");

    await assertNoConsoleErrors(errors, started);
  } catch (e) {
    for (const [name, page] of Object.entries(pages)) {
      await shot(page, `tracking-failure-${name}.png`).catch(() => {});
    }
    throw explain(e, errors, server);
  } finally {
    await browser?.close().catch(() => {});
    await stopServer(server);
  }
});
