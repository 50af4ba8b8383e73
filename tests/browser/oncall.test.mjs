// End-to-end browser test of the On-call pages, on a desktop and a phone.
//
//   list       the demo's schedule with who is on now and no gap warning
//   timeline   fourteen day rows, each covered end to end (office hours, then the technicians)
//   drag       dragging across a row fills the override form with those local hours
//   override   time off for the office tomorrow 9:00-10:00 AM, through the form with local
//              times: the notice, a "Nobody" bar on tomorrow's row, the sidebar's warning;
//              taken back, the gap goes
//   phone      the schedule page on a 390 px phone has no sideways scroll
//   shifts     a technician's own page from the link the office sends (made with an API key
//              from the CLI): axe, no sideways scroll, "Offer this shift" says it is offered
//
// Run:   cd tests/browser && npm ci && node --test oncall.test.mjs
// Env:   see lib.mjs (SWITCHBOARD_BIN, CHROMIUM_PATH, SCREENSHOT_DIR, HEADED)

import { test } from "node:test";
import {
  assertNoConsoleErrors,
  axeViolations,
  assertNoHorizontalScroll,
  clearFailureShots,
  demoApi,
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

/** The next weekday after today in New York, as YYYY-MM-DD and as the timeline labels it. */
function nextWeekday() {
  for (let d = 1; d < 5; d++) {
    const day = new Date(Date.now() + d * 86_400_000);
    const parts = Object.fromEntries(
      new Intl.DateTimeFormat("en-US", { timeZone: "America/New_York", year: "numeric", month: "2-digit", day: "2-digit", weekday: "short" })
        .formatToParts(day)
        .map((p) => [p.type, p.value]),
    );
    if (parts.weekday !== "Sat" && parts.weekday !== "Sun") {
      const label = new Intl.DateTimeFormat("en-US", { timeZone: "America/New_York", weekday: "short", month: "short", day: "numeric" })
        .format(day)
        .replace(",", "");
      return { iso: `${parts.year}-${parts.month}-${parts.day}`, label };
    }
  }
  fail("no weekday in the next four days");
}

test("the on-call timeline shows the next two weeks and an override made in the form", { timeout: 120_000 }, async () => {
  const started = Date.now();
  clearFailureShots("failure-oncall-");
  const server = await startServer();
  const browser = await launchBrowser();
  const errors = [];
  try {
    const desk = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    watchConsole(desk, "desk", errors, (t) => /status of 422/.test(t));
    const page = await desk.newPage();
    await signIn(page, server);
    await page.goto(`${server.base}/oncall`);
    const row = page.locator(".oncall-row").first();
    if (!(await row.textContent()).includes("On call now:")) fail(`the list shows nobody on call: ${await row.textContent()}`);
    if (await page.locator(".nav-warn").count()) fail("the sidebar warns of a gap the demo does not have");
    await Promise.all([page.waitForURL(/\/oncall\/\d+$/), row.locator("a").first().click()]);

    const days = page.locator(".oncall-day");
    if ((await days.count()) !== 14) fail(`the timeline has ${await days.count()} day rows, not 14`);
    // Every row is covered end to end: the bars (in any lane) together span the whole day.
    const widths = await days.evaluateAll((rows) =>
      rows.map((r) => {
        const spans = [...r.querySelectorAll(".oncall-bar:not(.gap)")]
          .map((b) => [parseFloat(b.style.left), parseFloat(b.style.left) + parseFloat(b.style.width)])
          .sort((a, b) => a[0] - b[0]);
        let covered = 0, reach = 0;
        for (const [a, b] of spans) {
          if (b > reach) { covered += b - Math.max(a, reach); reach = b; }
        }
        return covered;
      }),
    );
    const short = widths.findIndex((w) => Math.abs(w - 100) > 0.01);
    if (short >= 0) fail(`day row ${short + 1} is covered ${widths[short].toFixed(2)}%, not 100%`);
    await shot(page, "oncall-timeline.png", { fullPage: true });
    log("timeline: 14 days, each covered end to end");

    // Dragging across a day's row from 6:00 to 9:00 AM fills the override form with those
    // local times and puts the focus on "Who".
    const { iso, label } = nextWeekday();
    const track = page.locator(".oncall-day", { has: page.locator(".oncall-day-label", { hasText: label }) }).locator(".oncall-track");
    await track.scrollIntoViewIfNeeded();
    const box = await track.boundingBox();
    await page.mouse.move(box.x + box.width * 0.25 + 1, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.3, box.y + box.height / 2, { steps: 4 });
    await page.mouse.move(box.x + box.width * 0.375 - 1, box.y + box.height / 2, { steps: 4 });
    await page.mouse.up();
    const picked = [await page.locator('input[name="start"]').inputValue(), await page.locator('input[name="end"]').inputValue()];
    if (picked[0] !== `${iso}T06:00` || picked[1] !== `${iso}T09:00`) fail(`dragging 6-9 AM on ${label} filled ${picked.join(" to ")}`);
    if (!(await page.locator('select[name="who"]').evaluate((el) => el === document.activeElement))) fail("after dragging, Who does not have the focus");
    if ((await track.locator(".oncall-pick").count()) !== 1) fail("the picked hours are not marked on the row");
    log(`drag: 6:00-9:00 AM on ${label} filled the override form`);

    // Time off for the office tomorrow 9:00-10:00 AM, in the client's local time.
    await page.locator('select[name="action"]').selectOption("remove");
    await page.locator('select[name="who"]').selectOption({ label: "Office" });
    await page.locator('input[name="start"]').fill(`${iso}T09:00`);
    await page.locator('input[name="end"]').fill(`${iso}T10:00`);
    await page.locator('input[name="note"]').fill("Staff meeting");
    await Promise.all([page.waitForURL(/done=added/), page.getByRole("button", { name: "Save override" }).click()]);
    const notice = (await page.locator(".alert.success").textContent())?.trim();
    if (notice !== "Override saved: it is in effect now.") fail(`after saving: "${notice}"`);
    const day = page.locator(".oncall-day", { has: page.locator(".oncall-day-label", { hasText: label }) });
    const gap = day.locator(".oncall-bar.gap");
    if ((await gap.count()) !== 1) fail(`${label}'s row has ${await gap.count()} gaps, not the one hour`);
    const title = await gap.getAttribute("title");
    if (title !== "Nobody on call, 9:00 AM-10:00 AM") fail(`the gap says "${title}"`);
    const width = parseFloat(await gap.evaluate((b) => b.style.width));
    if (Math.abs(width - 100 / 24) > 0.01) fail(`the one-hour gap is ${width}% of the day`);
    if (!(await page.locator(".nav-warn").count())) fail("the sidebar does not warn of the gap");
    await shot(page, "oncall-gap.png");
    log(`override: a one-hour gap on ${label}, and the sidebar warns`);

    const ours = page.locator(".oncall-overrides li", { hasText: "Office off (time off)" });
    await Promise.all([page.waitForURL(/done=removed/), ours.getByRole("button", { name: /Take back/ }).click()]);
    if (await page.locator(".oncall-bar.gap").count()) fail("the gap stays after the override was taken back");
    if (await page.locator(".nav-warn").count()) fail("the sidebar still warns");

    const phoneCtx = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    watchConsole(phoneCtx, "phone", errors);
    const phone = await phoneCtx.newPage();
    await signIn(phone, server);
    await phone.goto(page.url().split("?")[0]);
    await assertNoHorizontalScroll(phone, "the schedule on a phone");
    await shot(phone, "oncall-phone.png", { fullPage: true });

    // Priya's own page, from a link the office makes over the API.
    const api = demoApi(server);
    const schedule = (await api("GET", "/schedules")).schedules[0];
    const priya = schedule.people.find((p) => p.name === "Priya Raman").member;
    const { url } = await api("POST", `/schedules/${schedule.id}/people-links`, { member: priya });
    const own = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, bypassCSP: true });
    watchConsole(own, "shifts", errors);
    const shifts = await own.newPage();
    await shifts.goto(url);
    const hello = (await shifts.locator("header p").last().textContent())?.trim();
    if (hello !== "Hello Priya Raman. Times are in America/New_York.") fail(`the page says "${hello}"`);
    await assertNoHorizontalScroll(shifts, "Priya's shifts");
    const violations = await axeViolations(shifts, "phone /s/…");
    if (violations.length) fail(`axe: ${violations.join("\n  ")}`);
    await Promise.all([shifts.waitForURL(/done=offered/), shifts.getByRole("button", { name: /Offer this shift/ }).first().click()]);
    const offered = (await shifts.locator(".alert.success").textContent())?.trim();
    if (offered !== "Offered: the others see it now. It stays yours until someone takes it.") fail(`after offering: "${offered}"`);
    if ((await shifts.locator(".badge", { hasText: "Offered" }).count()) !== 1) fail("the offered shift is not marked Offered");
    await shot(shifts, "oncall-shifts-phone.png", { fullPage: true });
    log("Priya's page: axe clean on a phone, a shift offered");
    await assertNoConsoleErrors(errors, started);
  } catch (e) {
    throw explain(e, errors, server);
  } finally {
    await browser.close();
    await stopServer(server);
  }
});
