// End-to-end browser test: open console pages keep up with what happens, without a reload.
//
//   burst      the inbox is open; 12 customers text in four quick waves (the SMS stand-in
//              signs each webhook like Twilio): every one of the 12 leads is in the open
//              list within 2.5 s of the last text, not only the first of each second
//   restart    the server is stopped with SIGTERM while the inbox (and its event stream) is
//              open: it exits within seconds; it starts again, a customer texts before the
//              page has reconnected (the page's event stream is held off meanwhile), and the
//              lead appears once the page reconnects, with no reload
//
// Run:   cd tests/browser && npm ci && node --test live_pages.test.mjs
// Env:   see lib.mjs (SWITCHBOARD_BIN, CHROMIUM_PATH, SCREENSHOT_DIR, HEADED)

import { test } from "node:test";
import {
  assertNoConsoleErrors,
  clearFailureShots,
  explain,
  fail,
  launchBrowser,
  log,
  restartServer,
  shot,
  signIn,
  sleep,
  startServer,
  stopServer,
  textFrom,
  watchConsole,
} from "./lib.mjs";

const SUMMIT = "+17205550100";

/** Resolves once every snippet is in the open lead list; fails naming the missing ones. */
async function waitForLeads(page, snippets, ms, what) {
  const deadline = Date.now() + ms;
  let missing = snippets;
  while (Date.now() < deadline) {
    const shown = await page.locator("#lead-list .lead-snippet").allTextContents();
    missing = snippets.filter((s) => !shown.some((t) => t.includes(s)));
    if (!missing.length) return;
    await sleep(100);
  }
  await shot(page, `failure-live-${what}.png`);
  fail(`${what}: ${missing.length} of ${snippets.length} leads not in the open inbox after ${ms / 1000} s: ${JSON.stringify(missing)}`);
}

test("open pages show every change of a burst, and catch up after a restart", { timeout: 120_000 }, async () => {
  const started = Date.now();
  clearFailureShots("failure-live-");
  let server = await startServer();
  const browser = await launchBrowser();
  const errors = [];
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    // The stream drops while the server restarts: those reconnect errors are expected.
    watchConsole(context, "inbox", errors, (t) => /events|ERR_CONNECTION_REFUSED|net::ERR/.test(t));
    const page = await context.newPage();
    await signIn(page, server);
    await page.goto(`${server.base}/leads`);
    await page.waitForSelector('[sse-connect][data-stream="open"]', { state: "attached" }); // the event stream is open

    // The office is on a slow connection: each refresh of the list takes 400 ms to arrive.
    await page.route("**/leads?partial=1*", async (route) => {
      await sleep(400);
      await route.continue();
    });
    // A burst: 12 new customers text in four waves of three, 250 ms apart, so waves arrive
    // while a refresh is still on its way.
    const burst = Array.from({ length: 12 }, (_, i) => `Burst ${String(i + 1).padStart(2, "0")}: water under the sink`);
    for (let wave = 0; wave < 4; wave++) {
      const texts = burst.slice(wave * 3, wave * 3 + 3);
      await Promise.all(texts.map((body, i) => textFrom(server, `+1720555${300 + wave * 3 + i}`, SUMMIT, body)));
      await sleep(250);
    }
    const sentAt = Date.now();
    await waitForLeads(page, burst, 2500, "burst");
    log(`all ${burst.length} leads of a burst shown ${Date.now() - sentAt} ms after the last text (refreshes taking 400 ms)`);
    await page.unroute("**/leads?partial=1*");

    // SIGTERM with the page's stream open: the server stops in seconds.
    const restarted = await restartServer(server);
    server = restarted.server;
    log(`SIGTERM with an open inbox: exited in ${restarted.tookMs} ms`);
    if (restarted.tookMs > 5000) fail(`the server took ${restarted.tookMs} ms to stop with a console tab open`);

    // Hold the page's stream off until a text has arrived, so only the reconnect can show it.
    await page.route("**/events", (route) => route.abort());
    const meanwhile = "Missed while away: furnace is out";
    await textFrom(server, "+17205550399", SUMMIT, meanwhile);
    await sleep(1500);
    const before = await page.locator("#lead-list .lead-snippet").allTextContents();
    if (before.some((t) => t.includes(meanwhile))) fail("the lead showed before the page reconnected: the test proves nothing");
    await page.unroute("**/events");
    await waitForLeads(page, [meanwhile], 15_000, "reconnect");
    log("the lead texted while the page was disconnected appeared after it reconnected, without a reload");
    await shot(page, "live-inbox-desktop.png");
    errors.length = 0; // reconnect noise during the restart is expected
    await context.close();
    await assertNoConsoleErrors(errors, started);
  } catch (e) {
    throw explain(e, errors, server);
  } finally {
    await browser.close();
    await stopServer(server);
  }
});
