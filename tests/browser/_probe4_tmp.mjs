import { execSync } from "node:child_process";
import { launchBrowser, signIn, startServer, stopServer, sleep } from "./lib.mjs";
const server = await startServer();
const browser = await launchBrowser();
const S = server.standin;
const post = (u, b) => fetch(S + u, { method: "POST", body: new URLSearchParams(b), redirect: "manual" });
try {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await signIn(page, server);
  await page.goto(`${server.base}/calls`);
  const t0 = Date.now();
  const reqs = [];
  page.on("request", (r) => { if (r.url().endsWith("/calls")) reqs.push(Date.now() - t0); });
  let misses = 0;
  for (let i = 1; i <= 12; i++) {
    await post(`/phones/%2B17205550132/dial`, { to: "+17205550100", says: "" });
    let sid;
    for (let k = 0; k < 50 && !sid; k++) {
      await sleep(100);
      const html = await (await fetch(`${S}/phones/%2B17205550161`)).text();
      sid = [...html.matchAll(/calls\/(CA[0-9a-f]+)' class=row><button name=action value='answer'/g)].map((m) => m[1])[0];
    }
    await sleep(Math.random() * 1500);
    await post(`/phones/%2B17205550161/calls/${sid}`, { action: "answer" });
    await sleep(300 + Math.random() * 1500);
    await post(`/phones/%2B17205550161/calls/${sid}`, { key: "1" });
    const tKey = Date.now() - t0;
    const ok = await page.waitForFunction((n) => document.querySelectorAll("#calls-live audio").length >= n, i, { timeout: 10_000 }).then(() => true, () => false);
    if (!ok) {
      misses++;
      const fresh = await (await page.request.get(`${server.base}/calls`)).text();
      const db = execSync(`sqlite3 ${server.dir}/sb.db "select id,call_id,status,created_at,stored_at from call_recordings order by id desc limit 2"`).toString();
      console.log(`call ${i}: MISSED live; open has ${await page.locator("#calls-live audio").count()}, fresh has ${(fresh.match(/<audio/g) ?? []).length}; key at ${tKey}; /calls requests since: ${reqs.filter((t) => t > tKey - 3000).join(",")}\n${db}`);
      await page.reload();
    } else console.log(`call ${i}: ok`);
    await sleep(1200);
  }
  console.log("misses", misses);
} finally { await browser.close(); await stopServer(server); }
