// End-to-end browser test: the office's day-one forms, by keyboard, on a desktop and a phone.
//
//   keyboard   the jobs table's Day field: a date typed and Enter shows that day; the brand
//              switch stepped with the arrow keys does not switch until Enter
//   customers  New customer on a 390 px phone: a bad number is refused beside the field,
//              what was typed stays, no sideways scroll; fixed, the card opens; New job from
//              the card books a scheduled job for that customer at their address, picked as
//              their first service location
//
// Run:   cd tests/browser && npm ci && node --test office_forms.test.mjs
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
  sleep,
  startServer,
  stopServer,
  watchConsole,
} from "./lib.mjs";

test("day-one office forms work by keyboard and on a phone", { timeout: 120_000 }, async () => {
  const started = Date.now();
  clearFailureShots("failure-office-");
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

    // Typing a day and pressing Enter shows that day.
    const day = page.locator('input[name="date"]');
    await day.focus();
    await page.keyboard.type("11242026");
    await Promise.all([page.waitForURL(/date=2026-11-24/), page.keyboard.press("Enter")]);
    log(`typed day + Enter: ${new URL(page.url()).search}`);

    // The brand switch: arrows step without switching; Enter switches.
    const before = page.url();
    const brand = page.locator("#brand-switch");
    await brand.focus();
    await page.keyboard.press("ArrowDown");
    await sleep(700);
    if (page.url() !== before) fail(`the brand switched at the first arrow key (now ${page.url()})`);
    const picked = await brand.inputValue();
    if (!picked) fail("the arrow key did not move the brand select");
    await Promise.all([page.waitForLoadState("load"), page.waitForURL(() => true), page.keyboard.press("Enter")]);
    await page.waitForFunction((v) => document.querySelector("#brand-switch")?.value === v, picked);
    log("brand switch: the arrow key stepped, Enter switched");
    await shot(page, "office-jobs-desktop.png");

    // On a phone: a new customer, refused then fixed; then a job for them.
    const phoneCtx = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    // The refused form answers 422 on purpose; Chromium logs every non-2xx page load.
    const phoneTiles = await blockMapTiles(phoneCtx);
    watchConsole(phoneCtx, "phone", errors, (t, where) => phoneTiles.isTileError(t, where) || /status of 422/.test(t));
    const phone = await phoneCtx.newPage();
    await signIn(phone, server);
    await phone.goto(`${server.base}/customers`);
    await assertNoHorizontalScroll(phone, "the customers list");
    await shot(phone, "office-customers-phone.png");
    await phone.getByRole("link", { name: "New customer" }).click();
    await phone.locator('input[name="name"]').fill("Dana Ruiz");
    await phone.locator('input[name="phone"]').fill("555");
    await phone.locator('input[name="address"]').fill("12 Oak St, Denver, CO 80205");
    // Wait for the refused form's answer itself: the page is already loaded before the post,
    // so waiting for "load" alone can return before the new page arrives.
    const refused = (r) => r.request().method() === "POST" && new URL(r.url()).pathname === "/customers";
    await Promise.all([phone.waitForResponse(refused), phone.getByRole("button", { name: "Add customer" }).click()]);
    await phone.waitForLoadState("load");
    const err = phone.locator("#phone-error");
    await err.waitFor({ state: "visible", timeout: 5000 }).catch(() => fail("no error beside the phone field"));
    if ((await phone.locator('input[name="address"]').inputValue()) !== "12 Oak St, Denver, CO 80205") fail("the address typed was lost");
    const focused = await phone.evaluate(() => document.activeElement?.getAttribute("name"));
    if (focused !== "phone") fail(`focus is on ${focused}, not the phone field in error`);
    const box = await err.boundingBox();
    if (!box || box.y + box.height > 844) fail("the phone's error is out of view");
    await assertNoHorizontalScroll(phone, "the refused customer form");
    await shot(phone, "office-customer-refused-phone.png");
    await phone.locator('input[name="phone"]').fill("(720) 555-0190");
    await Promise.all([phone.waitForURL(/\/customers\/\d+\?done=created/), phone.getByRole("button", { name: "Add customer" }).click()]);
    await phone.getByRole("link", { name: "New job", exact: true }).click();
    await phone.waitForURL(/\/jobs\/new\?customer=\d+/);
    await assertNoHorizontalScroll(phone, "the new job form");
    // Their address is their first service location, picked for the job.
    const where = phone.getByRole("radio", { name: "12 Oak St, Denver, CO 80205" });
    if (!(await where.isChecked())) fail("the customer's address is not picked as the job's location");
    await phone.locator('select[name="brand"]').selectOption({ label: "Summit Home Services (America/Denver)" });
    await phone.locator('input[name="service"]').fill("Furnace tune-up");
    await phone.locator('input[name="start"]').fill("2026-12-10T09:00");
    await phone.locator('input[name="end"]').fill("2026-12-10T11:00");
    await shot(phone, "office-new-job-phone.png");
    await Promise.all([phone.waitForURL(/\/jobs\/\d+\?done=created/), phone.getByRole("button", { name: "Create job" }).click()]);
    const status = (await phone.locator("#job-status").textContent())?.trim();
    if (status !== "Scheduled") fail(`the new job is ${status}, not Scheduled`);
    const booked = await phone.locator('input[name="address"]').inputValue();
    if (booked !== "12 Oak St, Denver, CO 80205") fail(`the job is booked at "${booked}", not the customer's location`);
    log("phone: customer refused then added, a scheduled job booked from their card");
    await desk.close();
    await phoneCtx.close();
    await assertNoConsoleErrors(errors, started);
  } catch (e) {
    throw explain(e, errors, server);
  } finally {
    await browser.close();
    await stopServer(server);
  }
});
