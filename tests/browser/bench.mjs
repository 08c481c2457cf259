// Opens the web app's store benchmark (bench.html) in Debian's Chromium and prints its result.
// Usage: node bench.mjs http://127.0.0.1:8787/app/bench.html?jobs=5000
import { launch } from "./steps.mjs";

const browser = await launch();
try {
  const page = await browser.newPage();
  page.on("pageerror", (e) => console.error("page error:", e.message));
  const t0 = Date.now();
  await page.goto(process.argv[2]);
  await page.waitForFunction(() => document.body.dataset.result, null, { timeout: 900_000, polling: 500 });
  const result = JSON.parse(await page.evaluate(() => document.body.dataset.result));
  console.log(JSON.stringify({ ...result, wall_s: (Date.now() - t0) / 1000 }));
  if (result.error) process.exitCode = 1;
} finally {
  await browser.close();
}
