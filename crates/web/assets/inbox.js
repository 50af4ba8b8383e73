// Push notifications for a secure inbox: where the browser can (Chrome, Edge, Firefox,
// Safari; on iPhone and iPad once the inbox is on the Home Screen), the person turns them on
// for this device; the subscription goes to the server, which sends each new message's
// notice here. Without push, the section explains what to do or stays hidden.
(function () {
  const box = document.getElementById("push");
  if (!box) return;
  const state = box.querySelector("[data-push-state]");
  const on = box.querySelector("[data-push-on]");
  const off = box.querySelector("[data-push-off]");
  const scope = box.dataset.scope;
  const say = (text) => (state.textContent = text);
  const apple = /iPad|iPhone|iPod/.test(navigator.userAgent) || (navigator.platform === "MacIntel" && navigator.maxTouchPoints > 1);
  const installed = window.matchMedia("(display-mode: standalone)").matches || navigator.standalone === true;

  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
    if (apple && !installed) {
      box.hidden = false;
      on.hidden = true;
      say("To get a notification for each new message, add this page to your Home Screen (Share, then Add to Home Screen) and open it from there.");
    }
    return;
  }
  box.hidden = false;

  const serverKey = () => {
    const s = box.dataset.key.replace(/-/g, "+").replace(/_/g, "/");
    return Uint8Array.from(atob(s + "=".repeat((4 - (s.length % 4)) % 4)), (c) => c.charCodeAt(0));
  };
  const current = async () => {
    const reg = await navigator.serviceWorker.getRegistration(scope);
    return reg ? reg.pushManager.getSubscription() : null;
  };
  const show = async () => {
    if (Notification.permission === "denied") {
      on.hidden = off.hidden = true;
      say("Notifications are blocked for this site. Allow them in your browser's settings to get one for each new message.");
      return;
    }
    const sub = await current();
    on.hidden = Boolean(sub);
    off.hidden = !sub;
    say(sub ? "Notifications are on for this device." : "Get a notification on this device for each new message.");
  };
  const send = async (method, body) => {
    const r = await fetch(box.dataset.endpoint, {
      method,
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    if (!r.ok) {
      let message = "The setting could not be saved. Try again.";
      try {
        message = (await r.json()).error.message || message;
      } catch (e) {}
      throw new Error(message);
    }
  };

  on.addEventListener("click", async () => {
    on.disabled = true;
    try {
      if ((await Notification.requestPermission()) !== "granted") return await show();
      await navigator.serviceWorker.register("/inbox/sw.js", { scope });
      const reg = await navigator.serviceWorker.ready;
      const sub =
        (await reg.pushManager.getSubscription()) ||
        (await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: serverKey() }));
      await send("POST", sub.toJSON());
      await show();
    } catch (e) {
      say("Notifications could not be turned on in this browser (" + e.message + ").");
    } finally {
      on.disabled = false;
    }
  });

  off.addEventListener("click", async () => {
    off.disabled = true;
    try {
      const sub = await current();
      if (sub) {
        await send("DELETE", { endpoint: sub.endpoint });
        await sub.unsubscribe();
      }
      await show();
    } catch (e) {
      say("Notifications could not be turned off (" + e.message + ").");
    } finally {
      off.disabled = false;
    }
  });

  show();
})();
