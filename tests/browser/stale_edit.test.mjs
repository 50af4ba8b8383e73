// End-to-end browser test: two dispatchers edit one job, and the second one's save, made on the
// page as it was before the first one's change, is refused with who changed it and when.
//
//   desktop   dispatcher A opens J-2202 and changes its service
//   phone     dispatcher B (390 px) had J-2202 open from before and is typing customer notes
//             when A saves: B's form keeps the notes and says the job changed; B saves: 409,
//             the alert at the top names the change ("J-2202 was changed by ..., after you
//             opened it. Nothing was saved ..."), in view without scrolling, no sideways
//             scroll; B's notes were not saved and A's service stands
//   follow    both pages fresh, B touching nothing: A's new line item and service appear in
//             B's list and form without a reload, and B's next save is accepted
//
// Run:   cd tests/browser && npm ci && node --test stale_edit.test.mjs
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
  openJob,
  shot,
  signIn,
  startServer,
  stopServer,
  text,
  watchConsole,
} from "./lib.mjs";

test("a save made on an old copy of a job is refused with who changed it and when", { timeout: 120_000 }, async () => {
  const started = Date.now();
  clearFailureShots("failure-stale-");
  const server = await startServer();
  const browser = await launchBrowser();
  const errors = [];
  let phone = null;
  try {
    const desk = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const deskTiles = await blockMapTiles(desk);
    watchConsole(desk, "desktop", errors, deskTiles.isTileError);
    const a = await desk.newPage();
    await signIn(a, server);

    const mobile = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    // The refused save is a 409 by design; the browser reports every non-2xx page load.
    const phoneTiles = await blockMapTiles(mobile);
    watchConsole(mobile, "phone", errors, (t, where) => phoneTiles.isTileError(t, where) || t.includes("status of 409"));
    phone = await mobile.newPage();
    await signIn(phone, server);
    const id = await openJob(phone, server, "J-2202");
    const seen = await phone.locator('form[action$="/jobs/' + id + '"] input[name="version"]').inputValue();
    log(`phone opened J-2202 at version ${seen}`);

    // Dispatcher B starts editing the customer notes on the page opened before.
    await phone.locator('textarea[name="customer_notes"]').fill("Gate code 4411");

    // Dispatcher A changes the service.
    await openJob(a, server, "J-2202");
    await a.locator('input[name="service"]').fill("Disposal install + new trap");
    await Promise.all([a.waitForURL(/done=saved/), a.getByRole("button", { name: "Save details" }).click()]);
    log("desktop saved a new service");

    // B's page follows live, but keeps B's edits and says the job changed meanwhile.
    await phone.locator('#job-form [data-changed-note]').waitFor({ state: "visible", timeout: 5000 });
    if ((await phone.locator('textarea[name="customer_notes"]').inputValue()) !== "Gate code 4411") fail("B's typing was lost by the live refresh");
    if ((await phone.locator('input[name="service"]').inputValue()) === "Disposal install + new trap") fail("B's edited form took A's values");
    log("phone: mid-edit, the form keeps B's notes and says the job changed");

    // B saves anyway.
    const saved = phone.waitForResponse((r) => r.request().method() === "POST" && r.url().endsWith(`/jobs/${id}`));
    await phone.getByRole("button", { name: "Save details" }).click();
    const response = await saved;
    if (response.status() !== 409) fail(`the stale save answered ${response.status()}, expected 409`);
    await phone.waitForLoadState("domcontentloaded");
    const alert = phone.getByRole("alert").first();
    const message = await text(alert);
    const expected =
      /^J-2202 was changed by .+ (at|on) .+, after you opened it\. Nothing was saved: reload to see the change, then make yours again\.$/;
    if (!expected.test(message)) fail(`the phone shows "${message}"`);
    const box = await alert.boundingBox();
    if (!box || box.y < 0 || box.y + box.height > 844) fail(`the refusal is not in view (${JSON.stringify(box)})`);
    await shot(phone, "stale-edit-phone.png");
    await assertNoHorizontalScroll(phone, "the refused job page");
    log(`phone: 409 "${message}"`);

    // Nothing of B's was written; A's change stands (and the page B sees now shows it).
    const service = await phone.locator('input[name="service"]').inputValue();
    if (service !== "Disposal install + new trap") fail(`the service reads "${service}" after the refusal`);
    const notes = await phone.locator('textarea[name="customer_notes"]').inputValue();
    if (notes.includes("Gate code 4411")) fail("the refused notes were saved");
    await a.reload();
    await shot(a, "stale-edit-desktop.png");

    // Now both pages are fresh and B touches nothing: A's next changes (a line item, the
    // service) appear in B's form and list without a reload.
    await a.locator('input[name="description"]').fill("Drain trap, 1-1/2 in");
    await a.locator('input[name="unit_price"]').fill("18.50");
    await Promise.all([a.waitForURL(/done=item/), a.getByRole("button", { name: "Add", exact: true }).click()]);
    await a.locator('input[name="service"]').fill("Disposal install, trap and test");
    await Promise.all([a.waitForURL(/done=saved/), a.getByRole("button", { name: "Save details" }).click()]);
    await phone.locator("#job-items", { hasText: "Drain trap, 1-1/2 in" }).waitFor({ timeout: 5000 });
    await phone.waitForFunction(() => document.querySelector('input[name="service"]')?.value === "Disposal install, trap and test", null, { timeout: 5000 });
    if (await phone.locator('#job-form [data-changed-note]').isVisible()) fail("an untouched form says it was changed meanwhile");
    log("phone: an untouched page follows A's line item and service live");
    // And B's next save is not refused: the form carries the version it now shows.
    await phone.locator('textarea[name="customer_notes"]').fill("Gate code 4411");
    await Promise.all([phone.waitForURL(/done=saved/), phone.getByRole("button", { name: "Save details" }).click()]);
    log("phone: saved on the followed version");
    await assertNoConsoleErrors(errors, started);
  } catch (e) {
    if (phone) await shot(phone, "failure-stale-phone.png").catch(() => {});
    throw explain(e, errors, server);
  } finally {
    await browser.close();
    await stopServer(server);
  }
});
