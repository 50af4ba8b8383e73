// End-to-end browser test of an urgent message's escalation, on a phone and a desktop.
//
//   flow       Harbor's caller type gets an urgent flow over the API: text a number asking for
//              a code; an urgent message taken over the API is texted there with the person's
//              own link (read from the SMS stand-in's phone page)
//   accept     the link on a 390 px phone: axe clean, no sideways scroll, "Can you take it?";
//              Accept makes it theirs
//   board      the desk board shows "Confirmed by ... (accepted from their link)" with the
//              attempt and the view on the message's timeline
//   take       from a Harbor job's page, "Take a message" opens the desk about the job; the
//              urgent message reaches Priya (a Harbor technician) whose link, on a phone,
//              offers "Accept and head to J-…": she is put on the job and marked on the way,
//              the customer is texted, and the board says she took it
//
// Run:   cd tests/browser && npm ci && node --test escalation.test.mjs
// Env:   see lib.mjs (SWITCHBOARD_BIN, CHROMIUM_PATH, SCREENSHOT_DIR, HEADED)

import { test } from "node:test";
import {
  assertNoConsoleErrors,
  assertNoHorizontalScroll,
  axeViolations,
  blockMapTiles,
  clearFailureShots,
  demoApi,
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

/** Harbor's urgent messages text `address` for a code, once; returns Harbor and its protocol. */
async function textHarborsUrgentTo(api, address) {
  const harbor = (await api("GET", "/brands")).brands.find((b) => b.name === "Harbor Plumbing & Drain");
  const { protocol } = await api("GET", `/brands/${harbor.id}/protocol`);
  protocol.caller_types[0].urgent_flow = {
    steps: [{ action: "text_confirm", targets: [{ kind: "address", address }], wait_minutes: 15 }],
    repeat: "times",
    rounds: 1,
  };
  await api("PUT", `/brands/${harbor.id}/protocol`, { answer_phrase: protocol.answer_phrase, caller_types: protocol.caller_types, version: protocol.version });
  return { harbor, protocol };
}

const ACK_LINK = /https?:\/\/[^\s"'<>]+\/ack\/[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])/g;
const PERSON = "+16175550190";

test("an urgent message reaches a person whose link accepts it", { timeout: 120_000 }, async () => {
  const started = Date.now();
  clearFailureShots("failure-escalation-");
  const server = await startServer();
  const browser = await launchBrowser();
  const errors = [];
  try {
    const api = demoApi(server);
    const { harbor, protocol } = await textHarborsUrgentTo(api, PERSON);
    const { message } = await api("POST", "/desk/messages", {
      client_id: harbor.id,
      caller_type: protocol.caller_types[0].key,
      answers: { caller_name: "Paula Mendes", callback_number: "617 555 0199", service_address: "12 Beacon St", what_is_wrong: "No heat, the house is freezing" },
      urgent: true,
    });
    const { link } = await linkFromStandin(server, PERSON, ACK_LINK, { what: "acknowledgement link" });
    log(`texted with a link: ${link.slice(0, 40)}…`);

    // axe is injected inline: the page's own CSP would refuse it (bypassCSP, as the other tests).
    const phoneCtx = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, bypassCSP: true });
    watchConsole(phoneCtx, "ack", errors);
    const phone = await phoneCtx.newPage();
    await phone.goto(link);
    const h1 = (await phone.locator("h1").textContent())?.trim();
    if (h1 !== "Can you take it?") fail(`the link opens "${h1}"`);
    await assertNoHorizontalScroll(phone, "the accept page on a phone");
    const violations = await axeViolations(phone, "phone /ack/…");
    if (violations.length) fail(`axe: ${violations.join("\n  ")}`);
    await shot(phone, "escalation-ack-phone.png", { fullPage: true });
    await Promise.all([phone.waitForURL(link), phone.getByRole("button", { name: "Accept: I'm taking it" }).click()]);
    const mine = (await phone.locator("h1").textContent())?.trim();
    if (mine !== "It's yours") fail(`after Accept the page says "${mine}"`);
    log("accepted from the phone");

    const desk = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    watchConsole(desk, "desk", errors);
    const page = await desk.newPage();
    await signIn(page, server);
    await page.goto(`${server.base}/desk?client=${harbor.id}`);
    const item = page.locator(`#desk-message-${message.id}`);
    const summary = (await item.locator(".escalation-badge").textContent())?.trim();
    if (summary !== `Confirmed by ${PERSON} (accepted from their link)`) fail(`the board says "${summary}"`);
    const lines = (await item.locator(".escalation-timeline li").allTextContents()).map((t) => t.replace(/\s+/g, " ").trim());
    if (!lines.some((l) => l.includes("Urgent flow started: 1 step, once"))) fail(`no start on the timeline: ${lines.join(" | ")}`);
    if (!lines.some((l) => l.includes("Step 1: Text asking for a reply code to +16175550190 at (617) 555-0190"))) fail(`no text on the timeline: ${lines.join(" | ")}`);
    if (!lines.some((l) => l.includes(`${PERSON} opened their link`))) fail(`no view on the timeline: ${lines.join(" | ")}`);
    await shot(page, "escalation-board.png");
    log(`board: ${summary}; ${lines.length} timeline lines`);
    await phoneCtx.close();
    await desk.close();
    await assertNoConsoleErrors(errors, started);
  } catch (e) {
    throw explain(e, errors, server);
  } finally {
    await browser.close();
    await stopServer(server);
  }
});

const PRIYA = "+16175550151";

test("a technician takes the job an urgent message is about from their link", { timeout: 120_000 }, async () => {
  const started = Date.now();
  clearFailureShots("failure-escalation-take-");
  const server = await startServer();
  const browser = await launchBrowser();
  const errors = [];
  try {
    const api = demoApi(server);
    const { harbor } = await textHarborsUrgentTo(api, PRIYA);
    const job = (await api("GET", "/jobs?q=Sewer")).jobs[0];

    // The office opens the message desk from the job.
    const desk = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    const tiles = await blockMapTiles(desk);
    watchConsole(desk, "desk", errors, tiles.isTileError);
    const page = await desk.newPage();
    await signIn(page, server);
    await page.goto(`${server.base}/jobs/${job.id}`);
    await Promise.all([page.waitForURL(/\/desk\?/), page.getByRole("link", { name: "Take a message" }).click()]);
    const about = (await page.locator(".desk-form .desk-about strong").textContent())?.trim();
    if (about !== `${job.code} · Sewer camera inspection · ${job.customer_name}`) fail(`the form is about "${about}"`);
    await page.locator('textarea[name="a_what_is_wrong"]').fill("Sewage backing up into the basement");
    await page.locator('input[name="urgent"]').check();
    await shot(page, "escalation-take-form.png");
    await Promise.all([page.waitForURL(/done=taken/), page.getByRole("button", { name: "Take message" }).click()]);
    log(`taken about ${job.code}`);

    const { link } = await linkFromStandin(server, PRIYA, ACK_LINK, { what: "acknowledgement link" });
    const phoneCtx = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, bypassCSP: true });
    watchConsole(phoneCtx, "ack", errors);
    const phone = await phoneCtx.newPage();
    await phone.goto(link);
    await assertNoHorizontalScroll(phone, "the take offer on a phone");
    const violations = await axeViolations(phone, "phone /ack/… about a job");
    if (violations.length) fail(`axe: ${violations.join("\n  ")}`);
    const hello = (await phone.locator("header p").nth(1).textContent())?.trim();
    if (!hello?.startsWith("Hello Priya Raman.")) fail(`the page greets "${hello}"`);
    await shot(phone, "escalation-take-phone.png", { fullPage: true });
    await phone.getByRole("button", { name: `Accept and head to ${job.code}` }).click();
    await phone.locator(".alert.success").waitFor();
    const notice = (await phone.locator(".alert.success").textContent())?.trim();
    if (notice !== `${job.code} is yours and you are marked on the way.`) fail(`after taking it the page says "${notice}"`);
    await shot(phone, "escalation-taken-phone.png", { fullPage: true });
    log(notice);

    const after = (await api("GET", `/jobs/${job.id}`)).job;
    if (after.status !== "dispatched") fail(`the job is ${after.status}`);
    if (!after.techs.some((t) => t.name === "Priya Raman" && t.work === "en_route")) fail(`the job's crew: ${JSON.stringify(after.techs)}`);
    await page.goto(`${server.base}/desk?client=${harbor.id}`);
    const item = page.locator(".desk-message").filter({ hasText: "Sewage backing up into the basement" });
    const lines = (await item.locator(".escalation-timeline li").allTextContents()).map((t) => t.replace(/\s+/g, " ").trim());
    if (!lines.some((l) => l.endsWith(`Priya Raman took ${job.code} and is on the way`))) fail(`the timeline: ${lines.join(" | ")}`);
    const linked = (await item.locator(".desk-about a").textContent())?.trim();
    if (!linked?.startsWith(job.code)) fail(`the board's message is about "${linked}"`);
    await shot(page, "escalation-take-board.png");
    await phoneCtx.close();
    await desk.close();
    await assertNoConsoleErrors(errors, started);
  } catch (e) {
    throw explain(e, errors, server);
  } finally {
    await browser.close();
    await stopServer(server);
  }
});
