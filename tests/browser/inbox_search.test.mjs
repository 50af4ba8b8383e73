// End-to-end browser test: new leads noticed anywhere, urgent ones first, and the top bar's
// search, by keyboard, on a desktop and a phone.
//
//   count      on /jobs, a text arriving raises the sidebar's unread count and the tab title
//              ("(5) Jobs · Switchboard") without a reload; on a phone, the Menu button too
//   urgent     the inbox lists the urgent lead first, flagged with the word the customer
//              wrote; the brand's own words (Settings -> Brands) change what is flagged
//   search     the top bar's box, by keyboard: a phone number typed nationally finds the
//              customer, their job and their lead; Enter on a result opens it
//   alerts     "Sound and desktop alerts" turns on and off and is remembered in this browser
//
// Run:   cd tests/browser && npm ci && node --test inbox_search.test.mjs
// Env:   see lib.mjs (SWITCHBOARD_BIN, CHROMIUM_PATH, SCREENSHOT_DIR, HEADED)

import { test } from "node:test";
import {
  assertNoConsoleErrors,
  assertNoHorizontalScroll,
  blockMapTiles,
  clearFailureShots,
  explain,
  fail,
  launchBrowser,
  log,
  shot,
  signIn,
  startServer,
  stopServer,
  text,
  textFrom,
  watchConsole,
} from "./lib.mjs";

const SUMMIT = "+17205550100"; // the demo's Summit Home Services number

/** Waits until the sidebar's badge shows `n` and the title leads with it; returns the title. */
async function badgeShows(page, n, what) {
  try {
    await page.waitForFunction(
      (want) => document.getElementById("nav-unread")?.dataset.count === String(want) && document.title.startsWith(`(${want}) `),
      n,
      { timeout: 10_000 },
    );
  } catch {
    const now = await page.locator("#nav-unread").getAttribute("data-count");
    fail(`${what}: the sidebar's unread count is ${now} and the title "${await page.title()}", expected ${n} within 10 s`);
  }
  return page.title();
}

test("new leads are noticed on any page, urgent ones first, and the top bar finds anything", { timeout: 120_000 }, async () => {
  const started = Date.now();
  clearFailureShots("failure-inbox-");
  const server = await startServer();
  const browser = await launchBrowser();
  const errors = [];
  try {
    const desk = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    const tiles = await blockMapTiles(desk);
    watchConsole(desk, "desk", errors, tiles.isTileError);
    const page = await desk.newPage();
    await signIn(page, server);
    await page.goto(`${server.base}/jobs`);
    const start = await badgeShows(page, 4, "the demo's inbox");
    if (start !== "(4) Jobs · Switchboard") fail(`the title on /jobs is "${start}", expected "(4) Jobs · Switchboard"`);

    // --- A text arrives while the dispatcher is on the jobs table ---------------------------
    await page.waitForSelector('[sse-connect][data-stream="open"]', { state: "attached" }); // the event stream is open
    await textFrom(server, "+13035550177", SUMMIT, "Hi, I smell gas near the water heater. What should I do?");
    const title = await badgeShows(page, 5, "after a text, without a reload");
    if (title !== "(5) Jobs · Switchboard") fail(`after a text the title is "${title}", expected "(5) Jobs · Switchboard"`);
    log(`a text on /jobs: badge 4 -> 5, title "${title}"`);

    // --- The inbox: urgent first, with the word ------------------------------------------------
    await page.getByRole("link", { name: /^Leads/ }).click();
    await page.waitForURL(/\/leads$/);
    const rows = page.locator(".lead-row");
    const first = await text(rows.nth(0));
    const second = await text(rows.nth(1));
    if (!first.includes("Urgent · smell gas") || !first.includes("(303) 555-0177")) fail(`the first lead is "${first}", expected the gas smell from (303) 555-0177`);
    if (!second.includes("Urgent · no heat")) fail(`the second lead is "${second}", expected the demo's no-heat text`);
    if ((await text(rows.nth(2))).includes("Urgent")) fail("a lead without an urgent word is flagged");
    await shot(page, "inbox-urgent-desktop.png");

    // The brand's own words: Summit flags "thermostat" and nothing else.
    await page.goto(`${server.base}/settings/brands`);
    await page.getByRole("link", { name: "Edit Summit Home Services" }).click();
    const words = page.getByLabel("Urgent words");
    if (!(await words.inputValue()).split("\n").includes("no heat")) fail("the brand form does not show the built-in urgent words");
    await words.fill("thermostat");
    await Promise.all([page.waitForURL(/\/settings\/brands(\?|$)/), page.getByRole("button", { name: /^Save/ }).click()]);
    await page.goto(`${server.base}/leads`);
    const now = await text(page.locator(".lead-row").nth(0));
    if (!now.includes("Urgent · thermostat") || !now.includes("Rachel Cohen")) fail(`with Summit's words "thermostat", the first lead is "${now}"`);
    if ((await page.locator(".lead-row", { hasText: "Urgent · no heat" }).count()) !== 0) fail("the no-heat lead is still flagged after Summit's words changed");
    log("inbox: urgent leads first with their word; the brand's own words re-flag at once");

    // --- Alerts: on, remembered, off ----------------------------------------------------------
    const alerts = page.getByRole("button", { name: /Sound and desktop alerts/ });
    if ((await alerts.getAttribute("aria-pressed")) !== "false") fail("alerts start on");
    await alerts.click();
    if ((await alerts.getAttribute("aria-pressed")) !== "true") fail("alerts did not turn on");
    await page.reload();
    if ((await page.getByRole("button", { name: /Sound and desktop alerts/ }).getAttribute("aria-pressed")) !== "true") fail("alerts were not remembered");
    await page.getByRole("button", { name: /Sound and desktop alerts/ }).click();
    log("alerts: turn on, remembered after a reload, turn off");

    // --- Search from the top bar, by keyboard ---------------------------------------------------
    await page.goto(`${server.base}/board`);
    await page.locator("#top-search").focus();
    await page.keyboard.type("(720) 555-0134");
    await Promise.all([page.waitForURL(/\/search\?q=/), page.keyboard.press("Enter")]);
    const customers = await text(page.locator("section", { has: page.locator("#found-customers") }));
    const jobs = await text(page.locator("section", { has: page.locator("#found-jobs") }));
    const leads = await text(page.locator("section", { has: page.locator("#found-leads") }));
    if (!customers.includes("Rachel Cohen")) fail(`search by phone: customers show "${customers}"`);
    if (!jobs.includes("J-2202")) fail(`search by phone: jobs show "${jobs}"`);
    if (!leads.includes("thermostat you installed")) fail(`search by phone: leads show "${leads}"`);
    if ((await page.locator("#top-search").inputValue()) !== "(720) 555-0134") fail("the search box did not keep what was typed");
    await shot(page, "search-desktop.png");
    // Tab to the first result and open it with Enter.
    await page.locator(".search-row").first().focus();
    await Promise.all([page.waitForURL(/\/customers\/\d+$/), page.keyboard.press("Enter")]);
    log("search: a national number finds the customer, job and lead; Enter opens a result");

    // --- Phone: the count on Menu, search, no sideways scroll -------------------------------
    const phoneCtx = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    await blockMapTiles(phoneCtx);
    watchConsole(phoneCtx, "phone", errors, tiles.isTileError);
    const mobile = await phoneCtx.newPage();
    await signIn(mobile, server);
    await mobile.goto(`${server.base}/jobs`);
    const menuCount = mobile.locator(".menu-button [data-unread-mirror]");
    const before = Number(await menuCount.evaluate((el) => el.firstChild.textContent));
    await mobile.waitForSelector('[sse-connect][data-stream="open"]', { state: "attached" });
    await textFrom(server, "+13035550178", SUMMIT, "Our sewage is backing up into the tub");
    await badgeShows(mobile, before + 1, "on a phone");
    const shown = await menuCount.evaluate((el) => ({ n: el.firstChild.textContent, hidden: el.hidden }));
    if (shown.hidden || shown.n !== String(before + 1)) fail(`the Menu button shows ${JSON.stringify(shown)}, expected ${before + 1}`);
    await mobile.locator("#top-search").fill("alvarez");
    await Promise.all([mobile.waitForURL(/\/search\?q=alvarez/), mobile.locator("#top-search").press("Enter")]);
    await assertNoHorizontalScroll(mobile, "/search on a phone");
    if (!(await text(mobile.locator("main"))).includes("Miguel Alvarez")) fail("search on a phone does not find Miguel Alvarez");
    await shot(mobile, "search-phone.png");
    log(`phone: Menu shows ${before + 1} unread; search works without sideways scroll`);

    await assertNoConsoleErrors(errors, started);
  } catch (e) {
    await shot(browser.contexts()[0]?.pages()[0], "failure-inbox-desk.png").catch(() => {});
    throw explain(e, errors, server);
  } finally {
    await browser.close();
    await stopServer(server);
  }
});
