// Accessibility of every page: axe-core (WCAG 2.1 A/AA rules) on the console, the public web
// form, the technician portal and the customer's tracking page, on a 1440 px desktop and a
// 390 px phone; and the keyboard paths axe cannot see.
//
//   axe        no serious or critical violation on any page (the list names each rule, its
//              elements and the page)
//   keyboard   the first Tab stop is "Skip to content", which moves focus to the page's main
//              region; a board job's ⋯ Move form opens by keyboard and Escape closes it with
//              focus back on its ⋯; a focused job card shows a focus ring that is not clipped
//   phone      the console's sidebar folds away behind a Menu button (aria-expanded), opens
//              and closes by keyboard (Escape), and no page scrolls sideways
//
// (axe is injected as a script, so the contexts bypass the CSP; the pages are unchanged.)
//
// Run:   cd tests/browser && npm ci && node --test accessibility.test.mjs
// Env:   see lib.mjs (SWITCHBOARD_BIN, CHROMIUM_PATH, SCREENSHOT_DIR, HEADED)

import { test } from "node:test";
import {
  PORTAL_LINK,
  TRACKING_LINK,
  assertNoConsoleErrors,
  assertNoHorizontalScroll,
  axeViolations,
  blockMapTiles,
  clearFailureShots,
  explain,
  fail,
  launchBrowser,
  linkFromStandin,
  log,
  shot,
  signIn,
  sleep,
  startServer,
  stopServer,
  textFrom,
  watchConsole,
} from "./lib.mjs";

const SUMMIT = "+17205550100"; // the demo's Summit Home Services number
const DEMO_TECH_PHONES = ["+17205550121", "+17205550122", "+17205550123", "+16175550151"];
/** The console pages a dispatcher uses, found by following the app's own links. */
async function consolePages(page, server) {
  const paths = [
    "/leads",
    "/jobs",
    "/jobs/new",
    "/board",
    "/board?view=week",
    "/board?brand=all&view=week",
    "/customers",
    "/customers/new",
    "/customers/import",
    "/settings/brands",
    "/settings/brands/new",
    "/settings/technicians",
    "/settings/users",
    "/settings/users/new",
    "/settings/notifications",
    "/settings/web-forms",
    "/settings/desk",
    "/desk",
    "/oncall",
    "/oncall/new",
    // The demo's one schedule.
    "/oncall/1/layers",
    "/settings/api-keys",
    "/settings/engine",
    "/settings/billing",
    "/invoices",
    "/demo/mail",
  ];
  // One of each detail page, by the first link of its list.
  for (const [list, re] of [
    ["/leads", /^\/leads\/\d+$/],
    ["/jobs", /^\/jobs\/\d+$/],
    ["/customers", /^\/customers\/\d+$/],
    // The demo's landlord: several service locations, each with its own access notes.
    ["/customers?q=Sam%20Greene", /^\/customers\/\d+$/],
    ["/settings/technicians", /^\/settings\/technicians\/\d+$/],
    ["/oncall", /^\/oncall\/\d+$/],
    ["/settings/brands", /^\/settings\/brands\/\d+$/],
    ["/settings/web-forms", /^\/settings\/web-forms\/\d+$/],
    ["/settings/desk", /^\/settings\/desk\/\d+$/],
    ["/settings/desk", /^\/settings\/desk\/\d+\/contacts$/],
    // The demo's invoice of J-2203, drafted from its line items.
    ["/invoices", /^\/invoices\/\d+$/],
  ]) {
    await page.goto(`${server.base}${list}`);
    const hrefs = await page.locator("main a[href]").evaluateAll((as) => as.map((a) => a.getAttribute("href")));
    const href = hrefs.find((h) => re.test(h ?? ""));
    if (!href) fail(`no link matching ${re} on ${list} (links: ${JSON.stringify(hrefs.slice(0, 20))})`);
    paths.push(href);
  }
  // The message desk's screen for a client with a protocol (the demo's Harbor).
  await page.goto(`${server.base}/desk`);
  const harbor = await page.locator(".desk-client-list a", { hasText: "Harbor" }).getAttribute("href");
  if (!harbor) fail("the desk offers no Harbor client");
  paths.push(harbor);
  return paths;
}

/** Dispatches a scheduled demo job of Summit from its page; resolves to its path. */
async function dispatchOne(page, server) {
  await page.goto(`${server.base}/jobs`);
  // Summit's jobs (J-…): Summit texts its customers; the demo's Harbor has texts turned off.
  const hrefs = await page
    .locator("main td.code a[href^='/jobs/']")
    .evaluateAll((as) => as.filter((a) => a.textContent.trim().startsWith("J-")).map((a) => a.getAttribute("href")));
  for (const href of [...new Set(hrefs)].filter((h) => /^\/jobs\/\d+$/.test(h))) {
    await page.goto(`${server.base}${href}`);
    const dispatch = page.locator(".status-actions").getByRole("button", { name: "Dispatch", exact: true });
    if ((await dispatch.count()) !== 1) continue;
    const phone = (await page.locator("[data-tech-phone]").first().getAttribute("data-tech-phone").catch(() => null)) ?? null;
    await Promise.all([page.waitForURL(/\?done=status/), dispatch.click()]);
    return { job: href, phone };
  }
  fail("no demo job on /jobs offers Dispatch");
}

test("every page passes axe and works by keyboard, on a desktop and a phone", { timeout: 300_000 }, async () => {
  const started = Date.now();
  clearFailureShots("failure-a11y-");
  const server = await startServer();
  const browser = await launchBrowser();
  const errors = [];
  const violations = [];
  try {
    const desk = await browser.newContext({ viewport: { width: 1440, height: 900 }, bypassCSP: true });
    const tiles = await blockMapTiles(desk);
    watchConsole(desk, "desk", errors, tiles.isTileError);
    const page = await desk.newPage();
    await signIn(page, server);
    // A customer's text makes a lead, so the inbox and a lead's page have something to show.
    await textFrom(server, "+17205550142", SUMMIT, "Hi, our furnace is making a banging noise. Can someone look at it this week?");
    const paths = await consolePages(page, server);

    // --- Keyboard: the skip link -----------------------------------------------------------
    await page.goto(`${server.base}/jobs`);
    await page.keyboard.press("Tab");
    const first = await page.evaluate(() => ({ text: document.activeElement?.textContent?.trim(), href: document.activeElement?.getAttribute("href") }));
    if (first.text !== "Skip to content") fail(`the first Tab stop on /jobs is ${JSON.stringify(first)}, expected the "Skip to content" link`);
    const skipVisible = await page.evaluate(() => {
      const r = document.activeElement.getBoundingClientRect();
      return r.width > 20 && r.height > 10 && r.top >= 0;
    });
    if (!skipVisible) fail("the focused skip link is not visible");
    await page.keyboard.press("Enter");
    const afterSkip = await page.evaluate(() => document.activeElement?.id);
    if (afterSkip !== "content") fail(`Enter on the skip link left focus on #${afterSkip}, expected the main region #content`);
    log("skip link: first Tab stop, moves focus to #content");

    // --- Keyboard: the board's Move form and card focus rings -------------------------------
    await page.goto(`${server.base}/board`);
    const card = page.locator(".lane .job-block").first();
    if ((await card.count()) === 0) fail("the demo board shows no job in a lane");
    const cardLink = card.locator(".job-block-main");
    await cardLink.focus();
    await page.keyboard.press("Shift+Tab");
    await page.keyboard.press("Tab"); // focus arrives by keyboard, so :focus-visible applies
    const ring = await cardLink.evaluate((a) => {
      const s = getComputedStyle(a);
      const block = a.closest(".job-block");
      const clip = getComputedStyle(block).overflow;
      return { style: s.outlineStyle, width: parseFloat(s.outlineWidth), offset: parseFloat(s.outlineOffset), clip, shadow: s.boxShadow };
    });
    const ringShown = (ring.style !== "none" && ring.width >= 2 && (ring.clip === "visible" || ring.offset < 0)) || /inset/.test(ring.shadow);
    if (!ringShown) fail(`a focused job card shows no unclipped focus ring (${JSON.stringify(ring)})`);
    const summary = card.locator("details.move > summary");
    await summary.focus();
    await page.keyboard.press("Enter");
    if (!(await card.locator("details.move").evaluate((d) => d.open))) fail("Enter on a job's ⋯ did not open its Move form");
    await page.keyboard.press("Tab"); // into the form
    const inForm = await page.evaluate(() => !!document.activeElement?.closest(".move-form"));
    if (!inForm) fail("Tab after opening ⋯ did not move into the Move form");
    await page.keyboard.press("Escape");
    const closed = await card.locator("details.move").evaluate((d) => !d.open);
    const focusBack = await page.evaluate(() => document.activeElement?.matches("details.move > summary"));
    if (!closed) fail("Escape did not close the board's Move form");
    if (!focusBack) fail("after Escape, focus is not back on the job's ⋯ button");
    log(`board: card focus ring ${ring.style} ${ring.width}px; ⋯ opens by Enter, Escape closes it and returns focus`);

    // --- axe on the console, desktop ------------------------------------------------------
    for (const p of paths) {
      await page.goto(`${server.base}${p}`);
      violations.push(...(await axeViolations(page, `desktop ${p}`)));
    }
    log(`axe: ${paths.length} console pages on a 1440 px desktop`);

    // The public web form.
    await page.goto(`${server.base}/settings/web-forms`);
    const formHref = (await page.locator("a[href^='/f/'], a[href*='/f/']").first().getAttribute("href")) ?? fail("no hosted form link on /settings/web-forms");
    const formPath = new URL(formHref, server.base).pathname;

    // A dispatched job texts the technician a portal link and the customer a tracking link.
    const { job } = await dispatchOne(page, server);
    // The customer's number is on the job page; the technicians' are the demo's.
    const techPhones = [
      ...(await page.locator("a[href^='tel:']").evaluateAll((as) => as.map((a) => a.getAttribute("href").slice(4)))),
      ...DEMO_TECH_PHONES,
    ];
    let portal = null;
    let tracking = null;
    for (const phone of techPhones) {
      try {
        portal ??= (await linkFromStandin(server, phone, PORTAL_LINK, { what: "portal link", timeoutMs: 2_000 })).link;
      } catch {}
      try {
        tracking ??= (await linkFromStandin(server, phone, TRACKING_LINK, { what: "tracking link", timeoutMs: 2_000 })).link;
      } catch {}
    }
    if (!portal || !tracking) fail(`dispatching ${job} texted no ${portal ? "tracking" : "portal"} link to any number on its page (${techPhones.join(", ")})`);
    log(`dispatched ${job}: portal and tracking links texted`);

    // --- Phone ----------------------------------------------------------------------------
    const phoneCtx = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, bypassCSP: true });
    await blockMapTiles(phoneCtx);
    watchConsole(phoneCtx, "phone", errors, tiles.isTileError);
    const mobile = await phoneCtx.newPage();
    await signIn(mobile, server);

    // The sidebar folds away behind Menu.
    await mobile.goto(`${server.base}/jobs`);
    const menu = mobile.getByRole("button", { name: "Menu" });
    if ((await menu.count()) !== 1) fail("no Menu button on /jobs on a 390 px phone");
    const nav = mobile.locator(".sidebar");
    if (await nav.isVisible()) fail("the sidebar is open on a 390 px phone before Menu is pressed");
    if ((await menu.getAttribute("aria-expanded")) !== "false") fail("Menu is not aria-expanded=false while the sidebar is folded");
    await shot(mobile, "a11y-phone-jobs.png");
    await menu.focus();
    await mobile.keyboard.press("Enter");
    if (!(await nav.isVisible())) fail("Menu did not open the sidebar");
    if ((await menu.getAttribute("aria-expanded")) !== "true") fail("Menu is not aria-expanded=true with the sidebar open");
    await shot(mobile, "a11y-phone-menu.png", { fullPage: false });
    await mobile.keyboard.press("Escape");
    if (await nav.isVisible()) fail("Escape did not fold the sidebar away");
    const focusOnMenu = await mobile.evaluate(() => document.activeElement?.getAttribute("aria-controls"));
    if (focusOnMenu !== "sidebar") fail("after Escape, focus is not back on the Menu button");
    log("phone: sidebar folded behind Menu; Enter opens it, Escape folds it and returns focus");

    const phonePaths = [...paths.filter((p) => !p.startsWith("/settings/")), "/settings/notifications", paths.find((p) => /^\/settings\/web-forms\/\d+$/.test(p)), formPath, new URL(portal).pathname, new URL(tracking).pathname];
    for (const p of phonePaths) {
      await mobile.goto(`${server.base}${p}`);
      try {
        await assertNoHorizontalScroll(mobile, p);
      } catch (e) {
        violations.push(`phone ${p}: ${e.message}`);
      }
      violations.push(...(await axeViolations(mobile, `phone ${p}`)));
    }
    // The portal's job page.
    await mobile.goto(portal);
    const stop = mobile.locator("a[href*='/jobs/']").first();
    if ((await stop.count()) === 0) fail("the portal lists no job after a dispatch");
    await Promise.all([mobile.waitForURL(/\/p\/[^/]+\/jobs\/\d+/), stop.click()]);
    violations.push(...(await axeViolations(mobile, `phone ${new URL(mobile.url()).pathname.replace(/\/p\/[^/]+/, "/p/…")}`)));
    await shot(mobile, "a11y-phone-portal-job.png");
    log(`axe: ${phonePaths.length + 1} pages on a 390 px phone (console, web form, portal, tracking)`);

    // Signed out: the login page.
    const anon = await browser.newContext({ viewport: { width: 390, height: 844 }, bypassCSP: true });
    const login = await anon.newPage();
    await login.goto(`${server.base}/login`);
    violations.push(...(await axeViolations(login, "phone /login")));

    if (violations.length) fail(`axe found ${violations.length} serious or critical violation(s):\n  ${violations.join("\n  ")}`);
    await assertNoConsoleErrors(errors, started);
  } catch (e) {
    explain(e, server);
    throw e;
  } finally {
    await browser.close();
    await stopServer(server);
  }
});
