// Small behaviours for the console. Loaded with `defer`; no inline scripts (see the CSP).
document.addEventListener("change", (event) => {
  const el = event.target;
  if (el instanceof HTMLSelectElement && el.hasAttribute("data-autosubmit") && el.form) {
    el.form.requestSubmit();
  }
});

// File inputs marked data-autosubmit-file upload as soon as a photo is picked.
document.addEventListener("change", (event) => {
  const el = event.target;
  if (el instanceof HTMLInputElement && el.type === "file" && el.hasAttribute("data-autosubmit-file") && el.form && el.files.length) {
    el.closest("label")?.classList.add("busy");
    el.form.requestSubmit();
  }
});

// Technician portal: share the phone's location while the page is open, every ~20 s or
// after moving ~50 m, whichever comes first.
(() => {
  const url = document.body.dataset.locationUrl;
  if (!url || !("geolocation" in navigator)) return;
  const state = document.querySelector("[data-location-state]");
  const show = (text, cls) => { if (state) { state.textContent = text; state.className = "location-state " + (cls || ""); } };
  let last = null;
  let latest = null;
  const metres = (a, b) => {
    const r = 6371000, rad = Math.PI / 180;
    const dLat = (b.lat - a.lat) * rad, dLon = (b.lon - a.lon) * rad;
    const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
    return 2 * r * Math.asin(Math.sqrt(h));
  };
  const send = (p) => {
    last = { ...p, at: Date.now() };
    fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(p), keepalive: true })
      .then((r) => show(r.ok ? "Sharing location" : "Location not sent", r.ok ? "on" : "off"))
      .catch(() => show("Offline", "off"));
  };
  navigator.geolocation.watchPosition(
    (pos) => {
      latest = { lat: pos.coords.latitude, lon: pos.coords.longitude, accuracy: pos.coords.accuracy };
      if (!last || metres(last, latest) >= 50 || Date.now() - last.at >= 20000) send(latest);
    },
    () => show("Location off", "off"),
    { enableHighAccuracy: true, maximumAge: 10000 },
  );
  setInterval(() => { if (latest && (!last || Date.now() - last.at >= 20000)) send(latest); }, 5000);
})();
