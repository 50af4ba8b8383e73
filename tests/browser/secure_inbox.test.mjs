// End-to-end browser test of the message desk's far side: what a recipient and a client see.
//
//   secure     Harbor's urgent messages go as secure messages; an operator takes one; the
//              on-call technician's phone gets only a notice with the inbox link
//   inbox      on a 390 px phone the inbox lists it unread; the notifications section offers
//              push, registers the service worker and reports what the browser allowed;
//              opening the message is the read receipt the desk's board shows
//   client     Harbor's office manager signs in (a Client sign-in linked to the Office
//              contact), sees Harbor's messages, and finds this one by a word and by a number
//   axe        no serious or critical violation on the inbox, the message, the client page
//
// Run:   cd tests/browser && npm ci && node --test secure_inbox.test.mjs
// Env:   see lib.mjs (SWITCHBOARD_BIN, CHROMIUM_PATH, SCREENSHOT_DIR, HEADED)

import { spawnSync } from "node:child_process";
import path from "node:path";
import { test } from "node:test";
import {
  BIN,
  assertNoConsoleErrors,
  assertNoHorizontalScroll,
  axeViolations,
  clearFailureShots,
  explain,
  fail,
  launchBrowser,
  linkFromStandin,
  log,
  shot,
  signIn,
  startServer,
  stopServer,
  watchConsole,
} from "./lib.mjs";

const ONCALL_CELL = "+16175550148"; // the demo's Harbor on-call technician
const INBOX_LINK = /https?:\/\/[^\s"'<>]+\/inbox\/[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])/g;
const CLIENT_EMAIL = "office@harbor.example";
const CLIENT_PASSWORD = "harbor-office-2026";

test("a secure message reaches the on-call phone's inbox and the client finds it", { timeout: 180_000 }, async () => {
  const started = Date.now();
  clearFailureShots("failure-inbox-");
  const server = await startServer();
  const browser = await launchBrowser();
  const errors = [];
  const violations = [];
  try {
    const office = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    watchConsole(office, "office", errors, (t) => /status of 422/.test(t));
    const page = await office.newPage();
    await signIn(page, server);

    // Harbor's urgent messages go to the on-call technician's secure inbox instead.
    await page.goto(`${server.base}/settings/desk`);
    await Promise.all([
      page.waitForURL(/\/settings\/desk\/\d+$/),
      page.locator('a[href^="/settings/desk/"]', { hasText: "Harbor" }).first().click(),
    ]);
    const harbor = new URL(page.url()).pathname.split("/").pop();
    const changed = await page.evaluate(() => {
      let n = 0;
      for (const urgent of document.querySelectorAll('select[name$="_urgent"]')) {
        const method = document.querySelector(`select[name="${urgent.name.replace(/_urgent$/, "_method")}"]`);
        if (urgent.value === "1" && method?.value === "email_and_text") {
          method.value = "secure";
          n += 1;
        }
      }
      return n;
    });
    if (changed !== 1) fail(`expected Harbor's one urgent rule by email and text, changed ${changed}`);
    await Promise.all([page.waitForLoadState("load"), page.getByRole("button", { name: "Save protocol" }).click()]);
    if (!(await page.locator(".alert.success").count())) fail(`the protocol was not saved: ${await page.locator("main").innerText()}`);
    log("Harbor's urgent rule now delivers by secure message");

    // An operator takes an urgent message.
    await page.goto(`${server.base}/desk?client=${harbor}`);
    await page.locator('input[name="a_caller_name"]').fill("Paula Mendes");
    await page.locator('input[name="a_callback_number"]').fill("617 555 0199");
    await page.locator('input[name="a_service_address"]').fill("12 Beacon St, Boston");
    await page.locator('textarea[name="a_what_is_wrong"]').fill("The basement is flooding near the water heater");
    await page.locator('input[name="urgent"]').check();
    await Promise.all([page.waitForURL(/done=taken/), page.getByRole("button", { name: "Take message" }).click()]);

    // The technician's phone gets the notice, with the link and nothing of the message.
    const { link, html } = await linkFromStandin(server, ONCALL_CELL, INBOX_LINK, { what: "inbox link" });
    if (/Paula|Beacon|flooding/.test(html)) fail("the notice text carries the message itself");
    log(`notice texted to ${ONCALL_CELL}`);

    // The inbox on the phone.
    const phoneCtx = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, bypassCSP: true });
    await phoneCtx.grantPermissions(["notifications"], { origin: server.base });
    // Playwright's contexts are incognito, where Chromium refuses push and says so in the console.
    watchConsole(phoneCtx, "phone", errors, (t) => /Push API in incognito mode/.test(t));
    const phone = await phoneCtx.newPage();
    await phone.goto(link);
    const unread = (await phone.locator(".inbox-head p").last().textContent())?.trim();
    if (unread !== "1 unread message.") fail(`the inbox says "${unread}"`);
    const push = phone.locator("#push");
    await push.waitFor({ state: "visible", timeout: 5_000 });
    const before = (await push.locator("[data-push-state]").textContent())?.trim();
    if (before !== "Get a notification on this device for each new message.") fail(`the push section says "${before}"`);
    await assertNoHorizontalScroll(phone, "the inbox");
    violations.push(...(await axeViolations(phone, "phone inbox")));
    await shot(phone, "inbox-phone.png", { fullPage: true });

    // Turning notifications on registers the inbox's service worker; headless Chromium has no
    // push service to subscribe with, so the section then says so instead of pretending.
    await push.getByRole("button", { name: "Turn on notifications" }).click();
    await phone.waitForFunction(
      () => document.querySelector("[data-push-state]")?.textContent !== "Get a notification on this device for each new message.",
      null,
      { timeout: 10_000 },
    );
    const after = (await push.locator("[data-push-state]").textContent())?.trim();
    if (!/^(Notifications are on for this device\.|Notifications could not be turned on in this browser \(.+\)\.)$/.test(after)) {
      fail(`after "Turn on notifications" the section says "${after}"`);
    }
    const scope = await phone.evaluate(async () => (await navigator.serviceWorker.getRegistration(location.pathname))?.scope);
    if (!scope || !link.startsWith(scope.replace(/\/$/, ""))) fail(`no service worker controls the inbox (scope ${scope})`);
    log(`push: service worker at ${new URL(scope).pathname}; the section says "${after}"`);

    // Opening the message is the read receipt.
    await Promise.all([phone.waitForURL(/\/messages\/\d+$/), phone.locator(".inbox-item a").first().click()]);
    const heading = (await phone.locator("h1").textContent())?.trim();
    if (heading !== "Paula Mendes") fail(`the message page is headed "${heading}"`);
    await assertNoHorizontalScroll(phone, "an inbox message");
    violations.push(...(await axeViolations(phone, "phone inbox message")));
    await shot(phone, "inbox-message-phone.png", { fullPage: true });
    await page.goto(`${server.base}/desk?client=${harbor}`);
    const timeline = (await page.locator(".desk-message").first().locator('ul.desk-timeline[aria-label="Deliveries"]').innerText()).replace(/\s+/g, " ");
    if (!/Read Secure message to On-call technician/.test(timeline)) fail(`the board does not show the read receipt: ${timeline}`);
    log("opened on the phone; the board shows it read");

    // The office manager's Client sign-in, linked to Harbor's Office contact.
    const created = spawnSync(
      BIN,
      ["user", "create", "--email", CLIENT_EMAIL, "--role", "client", "--name", "Olivia Office", "--password-stdin", "--database", path.join(server.dir, "sb.db")],
      { input: `${CLIENT_PASSWORD}\n`, encoding: "utf8" },
    );
    if (created.status !== 0) fail(`switchboard user create failed: ${created.stderr}`);
    await page.goto(`${server.base}/settings/desk/${harbor}/contacts`);
    const officeCard = page.locator(".contact-edit").filter({ hasText: "Edit Office" }).first();
    await officeCard.locator("summary").click();
    await officeCard.locator('select[name="user_id"]').selectOption({ label: "Olivia Office (Client)" });
    await Promise.all([page.waitForLoadState("load"), officeCard.getByRole("button", { name: "Save contact" }).click()]);

    const clientCtx = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, bypassCSP: true });
    watchConsole(clientCtx, "client", errors);
    const client = await clientCtx.newPage();
    await client.goto(`${server.base}/login`);
    await client.locator('input[name="email"]').fill(CLIENT_EMAIL);
    await client.locator('input[name="password"]').fill(CLIENT_PASSWORD);
    await Promise.all([client.waitForURL(/\/client$/), client.locator('form:has(input[name="password"]) button').first().click()]);
    for (const [q, expect] of [["flooding", "1 message matches."], ["(617) 555-0199", "1 message matches."], ["furnace", "No messages match."]]) {
      await client.locator('input[name="q"]').fill(q);
      await Promise.all([client.waitForURL(/\/client\?/), client.getByRole("button", { name: "Find" }).click()]);
      const found = (await client.locator('p[role="status"]').textContent())?.trim();
      if (found !== expect) fail(`searching "${q}" says "${found}", expected "${expect}"`);
      if (q !== "furnace") {
        await client.locator("text=Not confirmed").first().waitFor({ timeout: 2_000 }).catch(() => fail(`"${q}": the urgent message is not marked Not confirmed`));
      }
    }
    await client.locator('input[name="q"]').fill("flooding");
    await Promise.all([client.waitForURL(/\/client\?/), client.getByRole("button", { name: "Find" }).click()]);
    await assertNoHorizontalScroll(client, "the client page");
    violations.push(...(await axeViolations(client, "phone /client")));
    await shot(client, "client-phone.png", { fullPage: true });
    log("the client finds the message by a word and by a number, and nothing for another word");

    if (violations.length) fail(`axe found ${violations.length} serious or critical violation(s):\n  ${violations.join("\n  ")}`);
    await assertNoConsoleErrors(errors, started);
  } catch (e) {
    throw explain(e, errors, server);
  } finally {
    await browser.close();
    await stopServer(server);
  }
});
