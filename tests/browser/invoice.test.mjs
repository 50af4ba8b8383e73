// End-to-end browser test: an invoice from the job's line items to a paid, closed job.
//
// Starts `switchboard serve --demo` on a fresh temporary database (its Stripe stand-in takes
// test cards), then drives headless Chromium:
//
//   office (desktop, then a phone)  opens J-2203 (Lock rekey, Pending close), whose invoice the
//                                   demo drafted from Jin's line items with Summit's 8.81%
//                                   sales tax; checks the totals, sends it by text and email
//   customer (phone)                opens the texted link: the amount due, the lines, Pay;
//                                   pays on the stand-in's checkout page with 4242 4242 4242
//                                   4242 after a declined card; comes back to "Thank you"
//   office                          the invoice page left open turns Paid by itself; the job is
//                                   Completed, and the Invoices list shows it; the PDF opens
//
// No console error is allowed, and the phone pages never scroll sideways.
//
// Run:   cd tests/browser && npm ci && node --test invoice.test.mjs
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
  linkFromStandin,
  log,
  openJob,
  shot,
  signIn,
  startServer,
  stopServer,
  text,
  watchConsole,
} from "./lib.mjs";

const INVOICE_LINK = /https?:\/\/[^\s"'<>]+\/i\/[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])/g;
const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };

test("an invoice is sent, paid on a phone through the checkout page, and the job closes", { timeout: 180_000 }, async () => {
  clearFailureShots("failure-invoice");
  const server = await startServer();
  const browser = await launchBrowser();
  const errors = [];
  const started = Date.now();
  let page;
  try {
    const office = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const tiles = await blockMapTiles(office); // the job page's map: no network here
    watchConsole(office, "office", errors, tiles.isTileError);
    page = await office.newPage();
    await signIn(page, server);
    const jobId = await openJob(page, server, "J-2203");
    const card = page.locator("#invoices");
    if (!(await text(card)).includes("INV-1001")) fail(`J-2203's Invoices card: ${await text(card)}`);
    const phone = (await page.locator('a[href^="tel:"]').first().getAttribute("href"))?.slice(4) ?? fail("no customer phone");
    await Promise.all([page.waitForURL(/\/invoices\/\d+$/), card.getByRole("link", { name: "INV-1001" }).click()]);
    const invoicePath = new URL(page.url()).pathname;
    // 2 x $45.00 labor (untaxed) + 4 x $3.50 keys (taxed at 8.81%: $1.23) = $105.23.
    const summary = await text(page.locator("#invoice-summary"));
    for (const want of ["Subtotal $104.00", "Sales tax (8.81%) $1.23", "Total $105.23", "Amount due $105.23"]) {
      if (!summary.replace(/\s/g, "").includes(want.replace(/\s/g, ""))) fail(`invoice totals: want "${want}" in "${summary}"`);
    }
    await shot(page, "invoice-office-desktop.png");
    await page.setViewportSize({ width: 390, height: 844 });
    await assertNoHorizontalScroll(page, "the office's invoice on a phone");
    await shot(page, "invoice-office-phone.png");
    await page.setViewportSize({ width: 1280, height: 900 });

    const send = page.locator("#send");
    if (!(await send.locator('input[name="text"]').isChecked())) fail("Text is not ticked for a customer with a mobile number");
    await Promise.all([page.waitForURL(/done=sent/), send.getByRole("button", { name: /^Send INV-1001/ }).click()]);
    log("sent");
    const { link } = await linkFromStandin(server, phone, INVOICE_LINK, { what: "invoice link" });

    const customer = await browser.newContext(PHONE);
    // The declined card is answered 402 by the checkout page, as Stripe's says why on the page.
    const declined = (msg, where) => /status of 402/.test(msg) && where.includes("/c/pay/cs_");
    watchConsole(customer, "customer", errors, declined);
    const mine = await customer.newPage();
    await mine.goto(link);
    const due = await text(mine.locator("#invoice-due"));
    if (due !== "$105.23") fail(`amount due on the customer's page: ${due}`);
    await assertNoHorizontalScroll(mine, "the customer's invoice");
    await shot(mine, "invoice-customer-phone.png");

    await Promise.all([mine.waitForURL(/\/c\/pay\/cs_/), mine.getByRole("link", { name: "Pay $105.23" }).click()]);
    await shot(mine, "invoice-checkout-phone.png");
    const pay = async (card) => {
      await mine.locator('input[name="card_number"]').fill(card);
      await mine.locator('input[name="card_expiry"]').fill("12 / 34");
      await mine.locator('input[name="card_cvc"]').fill("123");
      await mine.getByRole("button", { name: /^Pay/ }).click();
    };
    await pay("4000 0000 0000 0002");
    await mine.getByText("Your card was declined.").waitFor();
    await Promise.all([mine.waitForURL(/\/i\/[A-Za-z0-9_-]{43}\?paid=cs_/), pay("4242 4242 4242 4242")]);
    await mine.getByText("Thank you! Your payment is received: INV-1001 is paid in full.").waitFor();
    if ((await mine.getByRole("link", { name: /^Pay / }).count()) !== 0) fail("a Pay button on a paid invoice");
    await assertNoHorizontalScroll(mine, "the paid invoice");
    await shot(mine, "invoice-paid-phone.png");

    // The office's open invoice turns Paid by itself (live), and the job closed with it.
    await page.locator("#invoice-live .tag.inv-paid").first().waitFor({ timeout: 10_000 });
    log("the office's invoice page shows Paid without a reload");
    await page.goto(`${server.base}/jobs/${jobId}`);
    const status = await text(page.locator(".job-head .badge").first());
    if (!/Completed/.test(status)) fail(`J-2203 after payment: "${status}"`);
    if (!(await text(page.locator("#invoices"))).includes("Paid")) fail("the job's invoice is not Paid");
    await page.goto(`${server.base}/invoices`);
    if (!(await text(page.locator("#invoices"))).includes("INV-1001")) fail("INV-1001 not in the Invoices list");
    await shot(page, "invoices-desktop.png");
    await page.goto(`${server.base}/settings/billing`);
    await shot(page, "billing-settings-desktop.png");
    const pdf = await page.request.get(`${server.base}${invoicePath}/pdf`);
    const head = (await pdf.body()).subarray(0, 5).toString();
    if (pdf.status() !== 200 || head !== "%PDF-") fail(`the invoice's PDF: ${pdf.status()} ${head}`);
    await assertNoConsoleErrors(errors, started);
  } catch (e) {
    if (page) await shot(page, "failure-invoice.png").catch(() => {});
    throw explain(e, errors, server);
  } finally {
    await browser.close();
    await stopServer(server);
  }
});
