// End-to-end browser test: an operator takes a message at the desk, by keyboard, on a desktop
// and a phone.
//
//   client     the type-ahead finds Harbor by part of its name; Enter opens its screen
//   urgency    typing "flooding" into the problem ticks Urgent with the rules' reason, live;
//              unticking it by hand sticks, and taking the message then asks why it is not
//              urgent, beside the field, with everything typed kept
//   board      taken as urgent, it tops the board with its deliveries (email and text to the
//              on-call technician and the office; the office's missing cell shown as failed)
//   phone      the same screen on a 390 px phone has no sideways scroll
//   checks     (second test) Alt+C reaches the client picker; a number that cannot be one is
//              named beside its field once the operator moves on; switching the caller type keeps
//              the name and number typed; a double-clicked Take message takes one message, and
//              another operator's open board shows it without a reload
//   keyboard   (third test) a message taken with the keyboard alone: Tab moves through the
//              fields in the order the protocol lists them, Enter in a field takes it
//
// Run:   cd tests/browser && npm ci && node --test message_desk.test.mjs
// Env:   see lib.mjs (SWITCHBOARD_BIN, CHROMIUM_PATH, SCREENSHOT_DIR, HEADED)

import { test } from "node:test";
import {
  assertNoConsoleErrors,
  demoApi,
  assertNoHorizontalScroll,
  clearFailureShots,
  explain,
  fail,
  launchBrowser,
  log,
  shot,
  signIn,
  startServer,
  stopServer,
  watchConsole,
} from "./lib.mjs";

test("an operator takes an urgent message at the desk", { timeout: 120_000 }, async () => {
  const started = Date.now();
  clearFailureShots("failure-desk-");
  const server = await startServer();
  const browser = await launchBrowser();
  const errors = [];
  try {
    const desk = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    // The refused message answers 422 on purpose; Chromium logs every non-2xx page load.
    watchConsole(desk, "desk", errors, (t) => /status of 422/.test(t));
    const page = await desk.newPage();
    await signIn(page, server);
    await page.goto(`${server.base}/desk`);

    // The client by typing part of its name, then Enter.
    const picker = page.locator('input[name="client"]');
    await picker.focus();
    await page.keyboard.type("harbor");
    await Promise.all([page.waitForURL(/\/desk\?client=harbor/), page.keyboard.press("Enter")]);
    const heading = (await page.locator("#desk-client").textContent())?.trim();
    if (heading !== "Harbor Plumbing & Drain") fail(`the type-ahead opened "${heading}"`);
    log("client found by typing part of its name");

    // Typing an urgent word ticks Urgent with the reason, while typing.
    await page.locator('input[name="a_caller_name"]').fill("Paula Mendes");
    await page.locator('input[name="a_callback_number"]').fill("617 555 0199");
    await page.locator('input[name="a_service_address"]').fill("12 Beacon St, Boston");
    await page.locator('textarea[name="a_what_is_wrong"]').fill("The basement is flooding near the water heater");
    const urgent = page.locator('input[name="urgent"]');
    await page.waitForFunction(() => document.querySelector('input[name="urgent"]')?.checked === true, null, { timeout: 5_000 })
      .catch(() => fail("typing \"flooding\" did not tick Urgent"));
    const hint = (await page.locator(".desk-suggested").textContent())?.trim();
    if (hint !== 'Suggested by the rules: the caller said "flooding"') fail(`the suggestion reads "${hint}"`);
    log(`live suggestion: ${hint}`);

    // Unticked by hand, it stays unticked while typing goes on; taking it asks why.
    await urgent.uncheck();
    await page.locator('textarea[name="a_what_is_wrong"]').pressSequentially(" again", { delay: 20 });
    await page.waitForTimeout(900);
    if (await urgent.isChecked()) fail("the rules ticked Urgent again after the operator unticked it");
    await Promise.all([page.waitForResponse((r) => r.url().endsWith("/desk/messages") && r.status() === 422), page.getByRole("button", { name: "Take message" }).click()]);
    const why = page.locator("#urgent-reason-error");
    await why.waitFor();
    if (!(await why.isVisible())) fail("the reason's error is not in view");
    const kept = await page.locator('textarea[name="a_what_is_wrong"]').inputValue();
    if (kept !== "The basement is flooding near the water heater again") fail(`what was typed became "${kept}"`);
    await shot(page, "desk-urgency-refused.png");

    // Marked urgent after all: it tops the board with its deliveries.
    await page.locator('input[name="urgent"]').check();
    await Promise.all([page.waitForURL(/done=taken/), page.getByRole("button", { name: "Take message" }).click()]);
    const first = page.locator(".desk-message").first();
    if (!(await first.evaluate((el) => el.classList.contains("urgent")))) fail("the urgent message is not first on the board");
    const lines = (await first.locator('ul.desk-timeline[aria-label="Deliveries"] li').allTextContents()).map((t) => t.replace(/\s+/g, " ").trim());
    if (lines.length !== 4) fail(`the message has ${lines.length} deliveries: ${lines.join(" | ")}`);
    if (!lines.some((l) => l.includes("Text to Office: Office has no cell number"))) fail(`no failed text to the office: ${lines.join(" | ")}`);
    await shot(page, "desk-taken.png");
    log(`taken: ${lines.length} deliveries on the board`);

    // The same screen on a phone.
    const phoneCtx = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    watchConsole(phoneCtx, "phone", errors);
    const phone = await phoneCtx.newPage();
    await signIn(phone, server);
    await phone.goto(page.url().split("#")[0]);
    await assertNoHorizontalScroll(phone, "the desk on a phone");
    await shot(phone, "desk-phone.png", { fullPage: true });
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

test("the desk checks fields as the operator goes and keeps what was typed across caller types", { timeout: 120_000 }, async () => {
  const started = Date.now();
  const server = await startServer();
  const browser = await launchBrowser();
  const errors = [];
  try {
    const api = demoApi(server);
    const summit = (await api("GET", "/brands")).brands.find((b) => b.name.startsWith("Summit"));
    await api("POST", `/brands/${summit.id}/protocol/template`, { template: "medical_clinic" });
    const desk = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    watchConsole(desk, "desk", errors);
    const page = await desk.newPage();
    await signIn(page, server);
    // A second operator watches the board: it follows without a reload.
    const watcher = await desk.newPage();
    await watcher.goto(`${server.base}/desk?client=${summit.id}`);
    await watcher.waitForSelector('[sse-connect][data-stream="open"]', { state: "attached", timeout: 10_000 }).catch(() => fail("the watcher's event stream did not open"));
    await page.goto(`${server.base}/desk?client=${summit.id}&caller=patient`);
    // Alt+C puts the cursor in the client picker, from anywhere on the screen.
    await page.locator('input[name="a_caller_name"]').focus();
    await page.keyboard.press("Alt+c");
    if (!(await page.locator('input[name="client"][accesskey="c"]').evaluate((el) => el === document.activeElement))) fail("Alt+C did not reach the client picker");

    // A callback number that cannot be one: named beside the field once the operator moves on.
    await page.locator('input[name="a_caller_name"]').fill("Jo Park");
    await page.locator('input[name="a_callback_number"]').fill("555");
    await page.locator('textarea[name="a_reason_for_the_call"]').click();
    const check = page.locator("#a-callback_number-check");
    await page.waitForFunction(() => document.querySelector("#a-callback_number-check")?.textContent === '"555" is not a valid phone number', null, { timeout: 5_000 })
      .catch(async () => fail(`no live check beside the number: "${await check.textContent()}"`));
    if (!(await check.isVisible())) fail("the number's problem is not shown");
    await shot(page, "desk-live-check.png");
    await page.locator('input[name="a_callback_number"]').fill("720 555 0188");
    await page.locator('textarea[name="a_reason_for_the_call"]').click();
    await page.waitForFunction(() => document.querySelector("#a-callback_number-check")?.textContent === "", null, { timeout: 5_000 })
      .catch(() => fail("the number's problem stays after it was fixed"));
    log("live check: a bad number named beside its field, gone once fixed");

    // The caller turns out to be a doctor's office: the name and number come along.
    await Promise.all([page.waitForURL(/caller=doctor_or_lab/), page.getByRole("link", { name: "Doctor or lab" }).click()]);
    const carried = [await page.locator('input[name="a_caller_name"]').inputValue(), await page.locator('input[name="a_callback_number"]').inputValue()];
    if (carried[0] !== "Jo Park" || carried[1] !== "720 555 0188") fail(`switching the caller type kept ${JSON.stringify(carried)}`);
    log("caller type switched: the name and number were kept");

    // Taken with a double click: one message.
    await page.locator('input[name="a_practice_or_lab"]').fill("Front Range Labs");
    await page.locator('textarea[name="a_message"]').fill("Results ready for patient J. Park");
    await Promise.all([page.waitForURL(/done=taken/), page.getByRole("button", { name: "Take message" }).dblclick()]);
    const list = await api("GET", `/desk/messages?client_id=${summit.id}`);
    const ours = list.messages.filter((m) => JSON.stringify(m.answers).includes("Front Range Labs"));
    if (ours.length !== 1) fail(`a double click took ${ours.length} messages`);
    log("double click: one message");
    await watcher.locator(".desk-message", { hasText: "Front Range Labs" }).waitFor({ timeout: 10_000 })
      .catch(() => fail("the other operator's board did not show the new message without a reload"));
    log("the other board showed it live");

    // The other operator starts a note on it; a message taken meanwhile does not wipe it, and
    // shows once the note is sent.
    const theirs = watcher.locator(".desk-message", { hasText: "Front Range Labs" });
    await theirs.locator("summary").click();
    await theirs.locator('input[name="body"]').fill("Called the lab back, no answer");
    await page.locator('input[name="a_caller_name"]').fill("Lee Wong");
    await page.locator('input[name="a_callback_number"]').fill("720 555 0111");
    await page.locator('input[name="a_practice_or_lab"]').fill("Peak Imaging");
    await page.locator('textarea[name="a_message"]').fill("MRI report ready");
    await Promise.all([page.waitForURL(/done=taken/), page.getByRole("button", { name: "Take message" }).click()]);
    await watcher.waitForTimeout(2_000);
    const kept = await watcher.locator(".desk-message", { hasText: "Front Range Labs" }).locator('input[name="body"]').inputValue();
    if (kept !== "Called the lab back, no answer") fail(`a live refresh wiped the half-typed note: "${kept}"`);
    if (await watcher.locator(".desk-message", { hasText: "Peak Imaging" }).count()) fail("the board refreshed under a half-typed note");
    await Promise.all([
      watcher.waitForURL(/desk/),
      watcher.locator(".desk-message", { hasText: "Front Range Labs" }).getByRole("button", { name: "Add note" }).click(),
    ]);
    await watcher.locator(".desk-message", { hasText: "Peak Imaging" }).waitFor({ timeout: 10_000 })
      .catch(() => fail("after the note, the board does not show the message taken meanwhile"));
    log("a half-typed note survived a live update");
    await desk.close();
    await assertNoConsoleErrors(errors, started);
  } catch (e) {
    throw explain(e, errors, server);
  } finally {
    await browser.close();
    await stopServer(server);
  }
});

test("an operator takes a message with the keyboard alone", { timeout: 120_000 }, async () => {
  const started = Date.now();
  const server = await startServer();
  const browser = await launchBrowser();
  const errors = [];
  try {
    const desk = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    watchConsole(desk, "desk", errors);
    const page = await desk.newPage();
    await signIn(page, server);
    await page.goto(`${server.base}/desk`);
    await page.keyboard.press("Alt+c");
    await page.keyboard.type("harbor");
    await Promise.all([page.waitForURL(/\/desk\?client=harbor/), page.keyboard.press("Enter")]);
    await page.locator('input[name="a_caller_name"]').focus();
    // Each field in the protocol's order, moving on with Tab.
    const order = [];
    const name = () => page.evaluate(() => document.activeElement?.getAttribute("name"));
    await page.keyboard.type("Kim Alvarez");
    order.push(await name());
    for (const typed of ["617 555 0142", "9 Tremont St, Boston", "Toilet keeps running"]) {
      await page.keyboard.press("Tab");
      order.push(await name());
      await page.keyboard.type(typed);
    }
    await page.keyboard.press("Tab");
    order.push(await name());
    await page.keyboard.press("ArrowDown"); // the first choice: Morning
    await page.keyboard.press("Tab");
    order.push(await name());
    await page.keyboard.press("Tab");
    order.push(await name());
    const expected = ["a_caller_name", "a_callback_number", "a_service_address", "a_what_is_wrong", "a_best_time_to_call", "urgent", "urgent_reason"];
    if (JSON.stringify(order) !== JSON.stringify(expected)) fail(`Tab went ${order.join(" -> ")}`);
    // Enter in a field takes the message.
    await Promise.all([page.waitForURL(/done=taken/), page.keyboard.press("Enter")]);
    const first = page.locator(".desk-message").first();
    const answers = (await first.locator(".desk-answers").textContent()).replace(/\s+/g, " ");
    for (const shown of ["Kim Alvarez", "(617) 555-0142", "9 Tremont St, Boston", "Toilet keeps running", "Morning"]) {
      if (!answers.includes(shown)) fail(`the message taken by keyboard lacks "${shown}": ${answers}`);
    }
    log(`keyboard: ${order.length} stops in order, Enter took it`);
    await desk.close();
    await assertNoConsoleErrors(errors, started);
  } catch (e) {
    throw explain(e, errors, server);
  } finally {
    await browser.close();
    await stopServer(server);
  }
});
