// The store worker: loads the same wasm module, which sees it runs in a worker and opens the
// store (SQLite in the origin's private file system) instead of drawing screens.
import init from "./onsite-web.js";

// Whole stacks in the console when something fails in here.
Error.stackTraceLimit = 64;

// The key the store is encrypted with (see app/src/web/cipher.rs): derived at each start from a
// non-extractable HMAC key this origin keeps in IndexedDB, so it is never written anywhere.
self.onsiteStoreKey = async () => {
  const db = await new Promise((ok, fail) => {
    const r = indexedDB.open("onsite-keys", 1);
    r.onupgradeneeded = () => r.result.createObjectStore("keys");
    r.onsuccess = () => ok(r.result);
    r.onerror = () => fail(r.error);
  });
  const ask = (mode, act) =>
    new Promise((ok, fail) => {
      const r = act(db.transaction("keys", mode).objectStore("keys"));
      r.onsuccess = () => ok(r.result);
      r.onerror = () => fail(r.error);
    });
  let key = await ask("readonly", (s) => s.get("store"));
  if (!key) {
    key = await crypto.subtle.generateKey({ name: "HMAC", hash: "SHA-256", length: 256 }, false, ["sign"]);
    // `add`, not `put`: if another start made one meanwhile, this fails and that one is used.
    await ask("readwrite", (s) => s.add(key, "store")).catch(() => {});
    key = await ask("readonly", (s) => s.get("store"));
  }
  db.close();
  const label = new TextEncoder().encode("OnSite store key v1");
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, label));
};

// The page may ask before the module has loaded: keep those asks for the module's handler.
const early = [];
self.onmessage = (e) => early.push(e);
await init();
for (const e of early) self.onmessage(e);
