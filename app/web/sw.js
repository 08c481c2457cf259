// OnSite's service worker: the app shell from cache so the app starts with no network.
//
// Cache first for the shell (versioned: the build writes VERSION from the files' hash); every
// other request (the sync API, photos) goes to the network untouched. A navigation anywhere
// under the app answers with the shell (the app routes itself). A new version installs beside
// the old one and waits until the app is closed: open work is never interrupted, and local data
// (in OPFS, not in this cache) is never touched by an update.
const VERSION = "__VERSION__";
const CACHE = "onsite-shell-" + VERSION;
const SHELL = __SHELL__;

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys().then((keys) =>
      Promise.all(keys.filter((k) => k.startsWith("onsite-shell-") && k !== CACHE).map((k) => caches.delete(k))),
    ).then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const req = event.request;
  if (req.method !== "GET") return;
  const url = new URL(req.url);
  const scope = new URL(self.registration.scope);
  if (url.origin !== scope.origin || !url.pathname.startsWith(scope.pathname)) return;
  if (req.mode === "navigate") {
    event.respondWith(
      caches.open(CACHE).then((c) => c.match("index.html")).then((hit) => hit || fetch(req)),
    );
    return;
  }
  event.respondWith(
    caches.open(CACHE).then((c) => c.match(req, { ignoreSearch: true })).then((hit) => hit || fetch(req)),
  );
});
