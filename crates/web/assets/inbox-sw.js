// The secure inbox's service worker: shows each push notice ("A new message is waiting in
// your secure inbox") and opens the inbox link it carries when tapped. The notice never holds
// the message itself.
self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("push", (event) => {
  let notice = {};
  try {
    notice = event.data ? event.data.json() : {};
  } catch (e) {
    notice = {};
  }
  const title = notice.title || "New message";
  event.waitUntil(
    self.registration.showNotification(title, {
      body: notice.body || "A new message is waiting in your secure inbox. Tap to read it.",
      tag: notice.tag,
      renotify: Boolean(notice.tag),
      icon: "/assets/favicon.svg",
      data: { url: notice.url || self.registration.scope },
    }),
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = (event.notification.data && event.notification.data.url) || self.registration.scope;
  event.waitUntil(
    (async () => {
      const open = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
      for (const client of open) {
        if (client.url === url && "focus" in client) return client.focus();
      }
      return self.clients.openWindow(url);
    })(),
  );
});
