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

// Dispatch board: drag a job onto a technician's lane (the drop point sets the start, snapped
// to 15 minutes on the server) or onto the Unassigned column. The ⋯ form does the same from
// the keyboard. The board refreshes itself from the server's SSE events.
(() => {
  const csrf = () => {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"] || ""; } catch { return ""; }
  };
  let dragged = null;
  document.addEventListener("dragstart", (e) => {
    const block = e.target instanceof Element ? e.target.closest(".job-block[draggable]") : null;
    if (!block) return;
    const rect = block.getBoundingClientRect();
    dragged = { job: block.dataset.job, from: block.dataset.fromTech || "", grabX: e.clientX - rect.left };
    e.dataTransfer.effectAllowed = "move";
    e.dataTransfer.setData("text/plain", block.dataset.job);
    block.classList.add("dragging");
  });
  document.addEventListener("dragend", (e) => {
    if (e.target instanceof Element) e.target.classList.remove("dragging");
    document.querySelectorAll(".drop-target").forEach((el) => el.classList.remove("drop-target"));
  });
  document.addEventListener("dragover", (e) => {
    const zone = e.target instanceof Element ? e.target.closest("[data-drop-tech]") : null;
    if (!zone || !dragged) return;
    e.preventDefault();
    document.querySelectorAll(".drop-target").forEach((el) => el !== zone && el.classList.remove("drop-target"));
    zone.classList.add("drop-target");
  });
  document.addEventListener("drop", async (e) => {
    const zone = e.target instanceof Element ? e.target.closest("[data-drop-tech]") : null;
    const board = document.querySelector("[data-board]");
    if (!zone || !dragged || !board) return;
    e.preventDefault();
    zone.classList.remove("drop-target");
    const body = new URLSearchParams({ job: dragged.job, from_tech: dragged.from, to_tech: zone.dataset.dropTech });
    if (zone.classList.contains("lane-track")) {
      const rect = zone.getBoundingClientRect();
      const start = Number(board.dataset.dayStart), end = Number(board.dataset.dayEnd);
      const x = Math.min(Math.max(e.clientX - dragged.grabX - rect.left, 0), rect.width);
      body.set("start_ms", String(Math.round(start + (x / rect.width) * (end - start))));
    }
    dragged = null;
    const resp = await fetch("/board/move", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", "x-csrf-token": csrf(), "x-requested-with": "fetch" },
      body,
    });
    if (!resp.ok) {
      const msg = await resp.text();
      const live = document.getElementById("board-live");
      const note = document.createElement("div");
      note.className = "alert error";
      note.setAttribute("role", "alert");
      note.textContent = msg || "That move was not possible.";
      live?.prepend(note);
    }
    if (window.htmx) window.htmx.trigger("#board-live", "board-refresh");
  });
})();

// Tracking page: re-read the page every few seconds and swap its live part in place.
(() => {
  const marker = document.querySelector("[data-refresh-seconds]");
  const live = document.getElementById("tracking-live");
  if (!marker || !live) return;
  const every = Number(marker.dataset.refreshSeconds) * 1000;
  setInterval(async () => {
    try {
      const r = await fetch(location.href, { cache: "no-store" });
      if (!r.ok) return;
      const doc = new DOMParser().parseFromString(await r.text(), "text/html");
      const fresh = doc.getElementById("tracking-live");
      if (fresh) live.replaceChildren(...fresh.childNodes);
    } catch { /* offline: try again next time */ }
  }, every);
})();
