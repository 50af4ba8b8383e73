// End-to-end browser test: calls to a brand's number, answered on a cell and left on voicemail.
//
// Starts `switchboard serve --demo` on a fresh temporary database, whose Twilio stand-in runs
// in-process: Summit Home Services' number +1 720 555 0100 rings Avery Brooks' and Kim Nguyen's
// cells (stand-in phones) at the same time, at any hour, recorded. Then drives headless Chromium:
//
//   office (desktop)   opens /calls (no calls yet) and keeps it open
//   a customer         Tara Patel (a demo customer) calls Summit from her phone's stand-in page
//   Avery's cell       rings on its stand-in page: Answer, hears the whisper with Tara's name,
//                      presses 1; they are bridged for a second and the call is recorded
//   office             the open calls list shows the call ringing, then "Answered by Avery
//                      Brooks" with a player, without a reload; the audio answers as WAV, and
//                      a Range request gets 206
//   a stranger         calls, nobody answers (both cells ring out after 20 s), leaves a message
//   office             the calls list shows it as Voicemail; /leads has a lead whose thread
//                      shows "Voicemail (0:NN): <the message>" with a Call back link
//   office (a phone)   /calls and Settings -> Calls do not scroll sideways
//
// A second test, on a server of its own, has the demo's admin Morgan Lee, whose calls for
// Summit ring in the browser (the stand-in's simulated softphone client:u{id}, no audio):
//
//   Morgan (desktop)   on /jobs, the dock in the corner rings when Tara calls, with her name and
//                      open jobs; Accept: "On a call", still there after a full load of
//                      /customers; 5 on its keypad reaches the browser's leg; Hang up: "Phone
//                      ready"; /calls has the call "Answered by Morgan Lee"
//   Morgan             "Call from the office" on Tara's card: 409 without a cell; with his cell
//                      set in Settings -> Calls, the click lands on /calls "Calling your cell";
//                      his cell rings (Answer), names Tara, and her phone rings from Summit's
//                      number (Answer): /calls has the outgoing call
//   Morgan             the dial form with a UK number: 422, never dialed
//   office (a phone)   Tara's job page lists her calls and does not scroll sideways
//
// No console error is allowed on our pages (the stand-in's phone pages are the carrier's, not
// ours, and run in a context of their own).
//
// Run:   cd tests/browser && npm ci && node --test calls.test.mjs
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
  text,
  watchConsole,
} from "./lib.mjs";

const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };
const SUMMIT = "+17205550100";
const AVERY_CELL = "+17205550161";
const KIM_CELL = "+17205550162";
const TARA = "+17205550132"; // Tara Patel, a demo customer of Summit's
const STRANGER = "+17205550199"; // a number the demo does not know
const MESSAGE = "Hi this is a test, my furnace is out";
const MORGAN_CELL = "+17205550170"; // the demo admin's cell, set by the test

/** The stand-in's page of phone `number`. */
function phoneUrl(server, number) {
  return `${server.standin}/phones/${encodeURIComponent(number)}`;
}

/** Calls `to` from the stand-in page of phone `from` with its "Call a number" form. */
// A stand-in phone page refreshes itself (a meta refresh) while one of its calls is live, and
// such a refresh can interrupt a navigation to the same page: the page then loads that same
// URL anyway, which is all we wanted.
async function openPhone(page, url) {
  try {
    await page.goto(url);
  } catch (e) {
    if (!String(e.message).includes("interrupted by another navigation")) throw e;
    await page.waitForLoadState("load");
    if (decodeURIComponent(page.url()) !== decodeURIComponent(url)) await page.goto(url);
  }
}

async function callFrom(page, server, from, to, says = "") {
  await openPhone(page, phoneUrl(server, from));
  const form = page.locator('form[action$="/dial"]');
  await form.locator('input[name="to"]').fill(to);
  await form.locator('input[name="says"]').fill(says);
  const [posted] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === "POST" && r.url().endsWith("/dial")),
    form.getByRole("button", { name: "Call" }).click(),
  ]);
  if (posted.status() !== 303) fail(`the stand-in did not place the call from ${from}: ${posted.status()} ${await posted.text()}`);
  await page.waitForLoadState();
  log(`${from} calls ${to}`);
}

/**
 * Clicks `selector` (a button of a call's form) on the stand-in page of a phone, reloading the
 * page until it shows the button. The page also reloads itself every 2 s while a call is live,
 * so a click that a reload beat is tried again; resolves once the stand-in answered the POST.
 */
async function pressOnPhone(page, url, selector, what, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const button = page.locator(selector).first();
    if (await button.isVisible().catch(() => false)) {
      const posted = page.waitForResponse((r) => r.request().method() === "POST" && /\/calls\/CA/.test(r.url()), { timeout: 3_000 });
      const clicked = await button.click({ timeout: 1_500 }).then(
        () => true,
        () => false,
      );
      const response = await posted.catch(() => null);
      if (clicked && response) {
        if (response.status() !== 303) fail(`${what} on ${url}: the stand-in answered ${response.status()}`);
        await page.waitForLoadState();
        return;
      }
    } else {
      await sleep(300);
      await page.goto(url).catch(() => {}); // a meta refresh may be on its way: either will do
    }
  }
  fail(`no ${what} on ${url} within ${timeoutMs / 1000} s; the page shows: ${await text(page.locator("body")).catch(() => "?")}`);
}

/** Polls the stand-in page of `number` until its text matches `re`. */
async function waitOnPhone(server, number, re, what, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  let body = "";
  while (Date.now() < deadline) {
    body = (await (await fetch(phoneUrl(server, number))).text()).replace(/<[^>]+>/g, " ").replace(/\s+/g, " ");
    if (re.test(body)) return body;
    await sleep(200);
  }
  fail(`${what}: the stand-in page of ${number} never matched ${re} within ${timeoutMs / 1000} s; it shows: ${body}`);
}

/**
 * Waits for `locator` on the open /calls page, which must update by itself. If it does not
 * appear, tells whether a fresh /calls has it (the live update missed it) or not (the server
 * never got that far).
 */
async function waitLive(page, server, locator, timeoutMs, what) {
  try {
    await locator.waitFor({ timeout: timeoutMs });
  } catch {
    const fresh = await (await page.request.get(`${server.base}/calls`)).text();
    const players = (fresh.match(/<audio controls/g) ?? []).length;
    const open = await page.locator("#calls-live audio[controls]").count();
    fail(
      `${what} did not appear on the open /calls within ${timeoutMs / 1000} s: it has ${open} player(s), a fresh /calls ` +
        `${players} (${players > open ? "the open list missed an update" : "the server has no more either"}); ` +
        `the open list shows: "${await text(page.locator("#calls-live"))}"`,
    );
  }
}

/** What the page gets for `src` (its session cookie goes along): whole, and one byte range. */
async function fetchAudio(page, src) {
  return page.evaluate(async (src) => {
    const whole = await fetch(src);
    const bytes = new Uint8Array(await whole.arrayBuffer());
    const part = await fetch(src, { headers: { Range: "bytes=0-99" } });
    const partBytes = (await part.arrayBuffer()).byteLength;
    return {
      status: whole.status,
      type: whole.headers.get("content-type"),
      length: bytes.length,
      head: String.fromCharCode(...bytes.subarray(0, 4)),
      partStatus: part.status,
      contentRange: part.headers.get("content-range"),
      partBytes,
    };
  }, src);
}

test("a call is answered on a cell with press-1 and recorded; one nobody answers becomes a voicemail lead", { timeout: 150_000 }, async () => {
  clearFailureShots("failure-calls");
  const server = await startServer();
  const browser = await launchBrowser();
  const errors = [];
  const started = Date.now();
  let page;
  let phonePage;
  try {
    const office = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    watchConsole(office, "office", errors);
    page = await office.newPage();
    await signIn(page, server);

    // The shell's link to the simulated phones is the stand-in the server printed.
    const standinLink = await page.getByRole("link", { name: "Simulated phones" }).getAttribute("href");
    if (standinLink?.replace(/\/$/, "") !== server.standin) fail(`the shell's phones link is ${standinLink}, the stand-in is ${server.standin}`);

    await page.goto(`${server.base}/calls`);
    const empty = await text(page.locator("#calls-live .empty-state"));
    if (!empty.startsWith("No calls yet.")) fail(`/calls on a fresh demo: "${empty}"`);
    // Marks this document: still there at the end means the list updated without a reload.
    await page.evaluate(() => {
      window.__keptOpen = true;
    });
    const kept = async (when) => {
      if (!(await page.evaluate(() => window.__keptOpen === true))) fail(`/calls was reloaded ${when}: it must update live`);
    };

    // The carrier's side: each phone's page on the stand-in (not ours: not watched).
    const carrier = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const caller = await carrier.newPage();
    const avery = await carrier.newPage();

    // 1. Tara calls; Avery answers on his cell, hears who it is, and presses 1.
    await callFrom(caller, server, TARA, SUMMIT);
    const row = page.locator("li.call-row", { hasText: "Tara Patel" });
    await row.locator(".tag.call-live").waitFor({ timeout: 10_000 });
    log("the open calls list shows Tara's call ringing");

    const averyUrl = phoneUrl(server, AVERY_CELL);
    await openPhone(avery, averyUrl);
    await pressOnPhone(avery, averyUrl, 'button[name="action"][value="answer"]', "Answer button");
    log("Avery answered on his cell");
    await pressOnPhone(avery, averyUrl, 'button[name="key"][value="1"]', "keypad", 6_000);
    const heard = await waitOnPhone(server, AVERY_CELL, /Connected to \+17205550132/, "Avery taking the call");
    if (!heard.includes("Call for Summit Home Services from Tara Patel. Press 1 to take it.")) {
      fail(`Avery's whisper does not name the customer; his phone shows: ${heard}`);
    }
    if (!/Keys pressed: 1\b/.test(heard)) fail(`Avery's phone does not show the 1 pressed: ${heard}`);
    await waitOnPhone(server, KIM_CELL, /From \+17205550132 outbound-dial · canceled/, "Kim's cell stopping once Avery took the call");
    log("Avery heard the whisper with Tara's name, pressed 1 and was put through; Kim's cell stopped ringing");

    // 2. The open list turns Answered, then gets the recording the engine copied in.
    await row.locator(".tag.call-answered").waitFor({ timeout: 10_000 });
    const audio = row.locator("audio[controls]");
    await waitLive(page, server, audio, 20_000, "the player of Tara's recording");
    const meta = await text(row.locator(".call-meta"));
    if (!meta.includes("Answered by Avery Brooks")) fail(`Tara's call: "${meta}"`);
    await kept("while Tara's call was answered");
    const src = await audio.getAttribute("src");
    if (!/^\/calls\/\d+\/recordings\/\d+$/.test(src ?? "")) fail(`the player's src is ${src}`);
    const wav = await fetchAudio(page, src);
    if (wav.status !== 200 || wav.type !== "audio/wav" || wav.head !== "RIFF") {
      fail(`the recording ${src}: ${wav.status} ${wav.type}, starts "${wav.head}", ${wav.length} bytes`);
    }
    if (wav.partStatus !== 206 || wav.contentRange !== `bytes 0-99/${wav.length}` || wav.partBytes !== 100) {
      fail(`the recording ${src} with Range: bytes=0-99: ${wav.partStatus} ${wav.contentRange}, ${wav.partBytes} bytes`);
    }
    log(`Tara's call answered by Avery, recording ${src} is a ${wav.length}-byte WAV (ranges answered 206)`);

    // 3. A stranger calls; both cells ring out; the caller leaves a message.
    await callFrom(caller, server, STRANGER, SUMMIT, MESSAGE);
    const vmRow = page.locator("li.call-row", { hasText: "555-0199" });
    await vmRow.locator(".tag.call-live").waitFor({ timeout: 10_000 });
    log("the stranger's call rings; waiting out the 20 s ring");
    await vmRow.locator(".tag.call-voicemail").waitFor({ timeout: 40_000 });
    await waitLive(page, server, vmRow.locator("audio[controls]"), 20_000, "the player of the stranger's voicemail");
    await kept("while the stranger's call went to voicemail");
    for (const cell of [AVERY_CELL, KIM_CELL]) {
      await waitOnPhone(server, cell, /From \+17205550199 outbound-dial · no-answer/, `${cell} ringing out`, 1_000);
    }
    const vmText = await text(vmRow);
    if (vmText.includes("Answered by")) fail(`the voicemail's row says who answered: "${vmText}"`);
    log("the open calls list shows the stranger's call as Voicemail with its recording");
    await shot(page, "calls-desktop.png");

    await page.goto(`${server.base}/leads`);
    const lead = page.locator("a.lead-row", { hasText: "555-0199" });
    await lead.waitFor({ timeout: 10_000 });
    await Promise.all([page.waitForURL(/\/leads\/\d+$/), lead.click()]);
    const said = new RegExp(`Voicemail \\(0:\\d\\d\\): ${MESSAGE}`);
    const bubble = page.locator("#thread .bubble", { hasText: said });
    await bubble.waitFor({ timeout: 10_000 });
    const callBack = await bubble.getByRole("link", { name: "Call back" }).getAttribute("href");
    if (callBack !== `tel:${STRANGER}`) fail(`the voicemail's Call back link is ${callBack}`);
    if ((await bubble.locator("audio[controls]").count()) !== 1) fail("no player for the voicemail in the lead's thread");
    log(`the lead's thread: "${await text(bubble)}"`);

    await page.goto(`${server.base}/settings/calls`);
    const summit = page.locator("section.card", { hasText: "Summit Home Services" });
    for (const [name, cell] of [["Avery Brooks", "555-0161"], ["Kim Nguyen", "555-0162"]]) {
      if (!(await summit.getByLabel(`${name} rings for Summit Home Services`).isChecked())) fail(`${name} does not ring for Summit`);
      const value = await summit.getByLabel(`${name}'s cell`).inputValue();
      if (!value.includes(cell)) fail(`${name}'s cell in Settings -> Calls: "${value}"`);
    }
    await shot(page, "settings-calls-desktop.png");

    // 4. The same pages on a phone.
    const phone = await browser.newContext(PHONE);
    watchConsole(phone, "office phone", errors);
    phonePage = await phone.newPage();
    await signIn(phonePage, server);
    await phonePage.goto(`${server.base}/calls`);
    if ((await phonePage.locator("li.call-row").count()) !== 2) fail(`/calls on a phone shows ${await phonePage.locator("li.call-row").count()} calls, expected 2`);
    await shot(phonePage, "calls-phone.png");
    await assertNoHorizontalScroll(phonePage, "/calls");
    await phonePage.goto(`${server.base}/settings/calls`);
    await shot(phonePage, "settings-calls-phone.png"); // before the check, to see what it found
    await assertNoHorizontalScroll(phonePage, "/settings/calls");

    await assertNoConsoleErrors(errors, started);
  } catch (e) {
    if (page) await shot(page, "failure-calls.png").catch(() => {});
    if (phonePage) await shot(phonePage, "failure-calls-phone.png").catch(() => {});
    throw explain(e, errors, server);
  } finally {
    await browser.close();
    await stopServer(server);
  }
});

/** A US number as the pages show it: +17205550170 -> (720) 555-0170. */
function national(number) {
  const d = number.replace(/^\+1/, "");
  return `(${d.slice(0, 3)}) ${d.slice(3, 6)}-${d.slice(6)}`;
}

/** Clicks a button of the softphone dock and waits for the dock the server swapped in. */
async function pressOnDock(page, button, action) {
  const [r] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === "POST" && new RegExp(`/softphone/calls/\\d+/${action}$`).test(r.url())),
    button.click(),
  ]);
  if (r.status() !== 200) fail(`the dock's ${action}: ${r.status()} ${await r.text()}`);
  const refused = page.locator("#softphone .phone-card[role=status]");
  if (await refused.count()) fail(`the dock's ${action} was refused: "${await text(refused)}"`);
}

test("the softphone dock takes a call across pages; a click calls the office's cell, then the customer; abroad is refused", { timeout: 120_000 }, async () => {
  clearFailureShots("failure-softphone");
  const server = await startServer();
  const browser = await launchBrowser();
  const errors = [];
  const started = Date.now();
  let page;
  let phonePage;
  try {
    const office = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    // The refused dials answer 409 and 422 on purpose; Chromium logs every non-2xx page load.
    watchConsole(office, "office", errors, (t, where) => /status of (409|422)/.test(t) && where.endsWith("/calls/dial"));
    page = await office.newPage();
    await signIn(page, server);
    const carrier = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const caller = await carrier.newPage();
    const cellPage = await carrier.newPage();

    // The demo rings Morgan (the demo admin) in the browser for Summit: his softphone is client:u{id}.
    await page.goto(`${server.base}/settings/calls`);
    const summitForm = page.locator("section.card", { hasText: "Summit Home Services" });
    const morganMode = summitForm.getByLabel("Where Morgan Lee's calls ring");
    const morganId = (await morganMode.getAttribute("name"))?.match(/^mode_(\d+)$/)?.[1] ?? fail("no ring mode select for Morgan Lee in Summit's form");
    if ((await morganMode.inputValue()) !== "browser") fail(`Morgan's calls ring in "${await morganMode.inputValue()}", the demo has "browser"`);
    const morganClient = `client:u${morganId}`;

    // 1. Tara calls while Morgan is on /jobs: his dock rings with her name and open jobs.
    await page.goto(`${server.base}/jobs`);
    const dock = page.locator("aside#softphone");
    await dock.getByText("Phone ready").waitFor({ timeout: 5_000 });
    await callFrom(caller, server, TARA, SUMMIT);
    const ringing = dock.locator("section.phone-card.ringing");
    await ringing.waitFor({ timeout: 10_000 });
    const ringText = await text(ringing);
    for (const want of ["Incoming call · Summit Home Services", "Tara Patel", "555-0132"]) {
      if (!ringText.includes(want)) fail(`the ringing dock does not show "${want}": "${ringText}"`);
    }
    const jobLinks = ringing.locator("a.phone-job");
    if ((await jobLinks.count()) === 0) fail(`the ringing dock lists none of Tara's open jobs: "${ringText}"`);
    const jobs = [];
    for (const a of await jobLinks.all()) jobs.push({ label: await text(a), href: await a.getAttribute("href") });
    for (const j of jobs) if (!/^J-\d+ · /.test(j.label) || !/^\/jobs\/\d+$/.test(j.href ?? "")) fail(`a job link of the dock: ${JSON.stringify(j)}`);
    log(`Morgan's dock rings on /jobs: "${ringText}"`);
    await shot(page, "dock-ringing.png", { fullPage: false });

    await pressOnDock(page, ringing.getByRole("button", { name: "Accept" }), "accept");
    const live = dock.locator("section.phone-card.live");
    await live.waitFor({ timeout: 5_000 });
    const liveText = await text(live);
    if (!liveText.includes("On a call · Summit Home Services") || !liveText.includes("Tara Patel")) fail(`the dock after Accept: "${liveText}"`);
    await waitOnPhone(server, morganClient, /Connected to \+17205550132/, "Morgan's browser taking the call");
    await waitOnPhone(server, AVERY_CELL, /From \+17205550132 outbound-dial · canceled/, "Avery's cell stopping once Morgan took the call");
    log("Morgan accepted in the browser; the cells stopped ringing");

    // A full page load: the dock comes back from the server with the call in it.
    await page.goto(`${server.base}/customers`);
    await live.waitFor({ timeout: 5_000 });
    if (!(await text(live)).includes("Tara Patel")) fail(`the dock on /customers: "${await text(live)}"`);
    await shot(page, "dock-live.png", { fullPage: false });
    await pressOnDock(page, live.locator(".phone-keypad").getByRole("button", { name: "5", exact: true }), "key");
    await live.waitFor({ timeout: 5_000 });
    await waitOnPhone(server, morganClient, /Keys pressed: 5\b/, "the 5 pressed on the dock's keypad", 5_000);
    log("the live call is still in the dock on /customers; 5 on its keypad reached the browser's leg");

    await pressOnDock(page, live.getByRole("button", { name: "Hang up" }), "hangup");
    await dock.getByText("Phone ready").waitFor({ timeout: 5_000 });
    if (await dock.locator("section.phone-card").count()) fail(`the dock after Hang up: "${await text(dock)}"`);
    await waitOnPhone(server, TARA, /To \+17205550100 inbound · completed/, "Tara's call ending with Morgan's hang-up");
    await page.goto(`${server.base}/calls`);
    const taken = page.locator("li.call-row", { hasText: "Tara Patel" }).first();
    await taken.locator(".tag.call-answered").waitFor({ timeout: 10_000 });
    if (!(await text(taken.locator(".call-meta"))).includes("Answered by Morgan Lee")) fail(`Tara's call on /calls: "${await text(taken)}"`);
    log("hung up: the dock is ready again, /calls has the call answered by Morgan Lee");

    // 2. A click on the customer card: without a cell there is nobody to ring first.
    const customerHref = await taken.locator(".call-who a").getAttribute("href");
    if (!/^\/customers\/\d+$/.test(customerHref ?? "")) fail(`Tara's link on /calls: ${customerHref}`);
    await page.goto(`${server.base}${customerHref}`);
    const callButton = page.getByRole("button", { name: "Call from the office" });
    let [r] = await Promise.all([page.waitForResponse((r) => r.url().endsWith("/calls/dial")), callButton.click()]);
    if (r.status() !== 409) fail(`Call from the office without a cell answered ${r.status()}, expected 409`);
    const noCell = await text(page.locator(".alert.error"));
    if (noCell !== "Not called: Add your cell number in Settings → Calls first: we call you there, then put you through.") fail(`without a cell: "${noCell}"`);
    log(`without a cell: 409 "${noCell}"`);

    await page.goto(`${server.base}/settings/calls`);
    await summitForm.getByLabel("Morgan Lee's cell").fill(national(MORGAN_CELL));
    await Promise.all([page.waitForLoadState(), summitForm.getByRole("button", { name: "Save Summit Home Services" }).click()]);
    await page.locator(".alert.success").waitFor({ timeout: 5_000 });
    if (!(await summitForm.getByLabel("Morgan Lee's cell").inputValue()).includes("555-0170")) fail("Morgan's cell was not kept");
    if ((await summitForm.getByLabel("Where Morgan Lee's calls ring").inputValue()) !== "browser") fail("Morgan's ring mode changed on save");
    log(`Morgan's cell is ${national(MORGAN_CELL)}`);

    await page.goto(`${server.base}${customerHref}`);
    await Promise.all([page.waitForURL(/\/calls\?calling=/), callButton.click()]);
    const notice = await text(page.locator(".alert.success"));
    if (notice !== `Calling your cell ${national(MORGAN_CELL)}: answer it, and you are put through.`) fail(`after the click: "${notice}"`);
    log(`landed on /calls: "${notice}"`);

    const cellUrl = phoneUrl(server, MORGAN_CELL);
    await openPhone(cellPage, cellUrl);
    await pressOnPhone(cellPage, cellUrl, 'button[name="action"][value="answer"]', "Answer button on Morgan's cell");
    await waitOnPhone(server, MORGAN_CELL, /Calling Tara Patel for Summit Home Services\./, "Morgan hearing whom he is put through to");
    const taraUrl = phoneUrl(server, TARA);
    await openPhone(caller, taraUrl);
    await pressOnPhone(caller, taraUrl, 'button[name="action"][value="answer"]', "Answer button on Tara's phone");
    // The stand-in bridges them for its talk time (a second), then both hang up.
    const taraSees = await waitOnPhone(server, TARA, /From \+17205550100 outbound-dial · [a-z-]+ Connected to \+17205550100/, "Tara answering the office's call");
    await waitOnPhone(server, MORGAN_CELL, /Connected to \+17205550132/, "Morgan put through to Tara");
    log(`Morgan answered his cell, heard who it is, and was put through; Tara's phone: "${taraSees.match(/From \+17205550100 outbound-dial[^]*?Connected to \+17205550100/)[0]}"`);

    // The open /calls updates by itself: the newest row is the outgoing call to Tara, answered.
    const outgoing = page.locator("li.call-row").first();
    await outgoing.locator(".tag.call-answered").waitFor({ timeout: 10_000 });
    const outText = await text(outgoing);
    if (!outText.startsWith("↗") || !outText.includes("Tara Patel") || (await outgoing.locator('.call-dir[aria-label="Outgoing"]').count()) !== 1) {
      fail(`the newest call on /calls is not the outgoing one to Tara: "${outText}"`);
    }
    if (!(await text(outgoing.locator(".call-meta"))).includes("Answered by Morgan Lee")) fail(`the outgoing call: "${outText}"`);
    log(`/calls shows the outgoing call: "${outText}"`);

    // 3. The toll-fraud guard: a number abroad, sent from the page's own dial form, is refused.
    const dialForm = page.locator("form.call-dial").first();
    await dialForm.locator('input[name="to"]').evaluate((e) => (e.value = "+44 20 7946 0958"));
    [r] = await Promise.all([page.waitForResponse((r) => r.url().endsWith("/calls/dial")), dialForm.getByRole("button").click()]);
    if (r.status() !== 422) fail(`a call to the United Kingdom answered ${r.status()}, expected 422`);
    const abroad = await text(page.locator(".alert.error"));
    const said = "Not called: Calls to +44 20 7946 0958 (United Kingdom) are not allowed: Switchboard calls only the countries your brands work in (United States).";
    if (abroad !== said) fail(`a call to the United Kingdom: "${abroad}"`);
    if ((await (await fetch(phoneUrl(server, "+442079460958"))).text()).includes("<h2>Calls</h2>")) fail("the stand-in got a call to the UK number");
    log(`abroad: 422 "${abroad}"`);

    // 4. Tara's job on a phone: its customer's calls, no sideways scroll.
    const phone = await browser.newContext(PHONE);
    const tiles = await blockMapTiles(phone); // the job page's map
    watchConsole(phone, "office phone", errors, tiles.isTileError);
    phonePage = await phone.newPage();
    await signIn(phonePage, server);
    await phonePage.goto(`${server.base}${jobs[0].href}`);
    const jobCalls = phonePage.locator("section#calls li.call-row");
    await jobCalls.first().waitFor({ timeout: 5_000 });
    if ((await jobCalls.count()) < 2) fail(`the job page of ${jobs[0].label} lists ${await jobCalls.count()} call(s) of Tara's, expected 2`);
    if (await phonePage.locator("#softphone .phone-idle").isVisible()) fail("the idle dock shows on a phone");
    await shot(phonePage, "job-calls-phone.png");
    await assertNoHorizontalScroll(phonePage, `the job page of ${jobs[0].label}`);
    log(`${jobs[0].label} on a phone: ${await jobCalls.count()} calls, no sideways scroll`);

    await assertNoConsoleErrors(errors, started);
  } catch (e) {
    if (page) await shot(page, "failure-softphone.png").catch(() => {});
    if (phonePage) await shot(phonePage, "failure-softphone-phone.png").catch(() => {});
    throw explain(e, errors, server);
  } finally {
    await browser.close();
    await stopServer(server);
  }
});
