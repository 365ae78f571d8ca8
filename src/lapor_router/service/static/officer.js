// The officers' page: open reports on a map, filters, a unit's overdue list and the
// responsiveness table. It reads the service's own endpoints (Open311 /requests.json,
// /services.json and /v1/*) like any client; text is put in the page as text, never HTML.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const COLOURS = { late: "#d62728", open: "#ff9f1c", closed: "#7f8c8d" };
  let map = null;
  let reportLayer = null;
  let boundaryLayer = null;
  let markers = new Map();
  let seq = 0;
  let loads = 0;
  let framed = false;

  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }

  function say(message) {
    $("notice").textContent = message || "";
  }

  async function getJSON(url) {
    const reply = await fetch(url, { headers: { Accept: "application/json" } });
    const body = await reply.json().catch(() => null);
    if (!reply.ok) {
      const why = Array.isArray(body) && body[0] && body[0].description;
      throw new Error(`${url}: ${why || reply.status}`);
    }
    return body;
  }

  function query(params) {
    const q = new URLSearchParams();
    for (const [key, value] of Object.entries(params)) {
      if (value !== "" && value !== null && value !== undefined) q.set(key, value);
    }
    const text = q.toString();
    return text ? `?${text}` : "";
  }

  // "2026-12-03T09:00:00+07:00" -> "2026-12-03 09:00" (the service's times are WIB)
  function when(iso) {
    return typeof iso === "string" && iso.length >= 16 ? iso.slice(0, 16).replace("T", " ") : "—";
  }

  function isLate(r, now) {
    return r.status === "open" && typeof r.respond_by === "string" && Date.parse(r.respond_by) < now;
  }

  function popup(r) {
    const box = el("div", null, "popup");
    box.append(el("h3", `No. ${r.service_request_id} · ${r.service_name || r.service_code || "—"}`));
    const dl = el("dl");
    const rows = [
      ["Status", r.status],
      ["Kelurahan", [r.kelurahan, r.kecamatan].filter(Boolean).join(", ") || "—"],
      ["Unit", r.agency_responsible || r.unit_id || "—"],
      ["Tanggapi sebelum", when(r.respond_by)],
      ["Selesai sebelum", when(r.expected_datetime)],
      ["Diterima", when(r.requested_datetime)],
    ];
    if (r.description) {
      const text = String(r.description);
      rows.push(["Isi", text.length > 240 ? `${text.slice(0, 240)}…` : text]);
    }
    if (Array.isArray(r.flags) && r.flags.length) rows.push(["Tanda", r.flags.join(", ")]);
    for (const [key, value] of rows) dl.append(el("dt", key), el("dd", value));
    box.append(dl);
    return box;
  }

  function emptyRow(tbody, columns, text) {
    const tr = el("tr", null, "empty");
    const td = el("td", text);
    td.colSpan = columns;
    tr.append(td);
    tbody.append(tr);
  }

  function focus(id) {
    const marker = markers.get(id);
    if (!marker) return;
    map.setView(marker.getLatLng(), Math.max(map.getZoom(), 15));
    marker.openPopup();
    for (const tr of document.querySelectorAll("#report-list tbody tr")) {
      tr.classList.toggle("selected", tr.dataset.id === id);
    }
  }

  function setCount(id, n, note) {
    const node = $(id);
    node.dataset.count = String(n);
    node.textContent = note ? `${n} ${note}` : String(n);
  }

  function showReports(rows) {
    const now = Date.now();
    reportLayer.clearLayers();
    markers = new Map();
    const tbody = document.querySelector("#report-list tbody");
    tbody.replaceChildren();
    for (const r of rows) {
      const id = String(r.service_request_id);
      const late = isLate(r, now);
      const kind = late ? "late" : r.status === "open" ? "open" : "closed";
      if (Number.isFinite(r.lat) && Number.isFinite(r.long)) {
        const marker = L.circleMarker([r.lat, r.long], {
          radius: 7,
          weight: 1.5,
          color: "#1d2330",
          fillColor: COLOURS[kind],
          fillOpacity: 0.9,
          className: `report report-${kind}`,
        });
        marker.bindPopup(() => popup(r));
        marker.on("click", () => focus(id));
        marker.addTo(reportLayer);
        markers.set(id, marker);
      }
      const tr = el("tr");
      tr.dataset.id = id;
      tr.append(
        el("td", id),
        el("td", r.service_name || r.service_code || "—"),
        el("td", r.kelurahan || "—"),
        el("td", r.agency_responsible || r.unit_id || "—"),
        el("td", r.status),
        el("td", when(r.respond_by), late ? "late" : ""),
      );
      tr.addEventListener("click", () => focus(id));
      tbody.append(tr);
    }
    if (!rows.length) emptyRow(tbody, 6, "Tidak ada laporan untuk pilihan ini.");
    if (!framed && rows.length) {
      framed = true;
      frame(rows);
    }
    setCount("report-count", rows.length, rows.length >= 1000 ? "(terbaru; persempit pilihan)" : "");
  }

  // The first view: where most reports are (2nd to 98th percentile of each coordinate), so
  // that a few reports far out (Kepulauan Seribu) do not shrink the city to a corner.
  function frame(rows) {
    const pick = (key) => rows.map((r) => r[key]).filter(Number.isFinite).sort((a, b) => a - b);
    const at = (xs, q) => xs[Math.min(xs.length - 1, Math.max(0, Math.round(q * (xs.length - 1))))];
    const lat = pick("lat");
    const lon = pick("long");
    if (!lat.length) return;
    const box = L.latLngBounds([at(lat, 0.02), at(lon, 0.02)], [at(lat, 0.98), at(lon, 0.98)]);
    map.fitBounds(box.pad(0.1), { maxZoom: 15 });
  }

  function showOverdue(rows, unit) {
    const tbody = document.querySelector("#overdue-list tbody");
    tbody.replaceChildren();
    const select = $("f-unit");
    $("overdue-unit").textContent = unit ? `— ${select.options[select.selectedIndex].dataset.name}` : "— semua unit";
    for (const r of rows) {
      const id = String(r.service_request_id);
      const tr = el("tr");
      tr.dataset.id = id;
      const hours = el("td", Number(r.overdue_hours).toFixed(1), "num late");
      tr.append(
        el("td", id),
        el("td", r.service_name || r.service_code || "—"),
        el("td", r.kelurahan || "—"),
        el("td", r.agency_responsible || r.unit_id || "—"),
        el("td", when(r.respond_by)),
        hours,
      );
      tr.addEventListener("click", () => focus(id));
      tbody.append(tr);
    }
    if (!rows.length) emptyRow(tbody, 6, "Tidak ada laporan yang terlambat.");
    setCount("overdue-count", rows.length);
  }

  function share(n, of) {
    if (n === null || n === undefined) return "—";
    return of ? `${n} (${Math.round((100 * n) / of)}%)` : String(n);
  }

  function hours(a, b) {
    const f = (x) => (x === null || x === undefined ? "—" : Number(x).toFixed(1));
    return `${f(a)} / ${f(b)}`;
  }

  async function loadStats() {
    const by = $("f-by").value;
    const rows = await getJSON(`/v1/stats${query({ by })}`);
    rows.sort((a, b) => b.received - a.received || String(a.name).localeCompare(String(b.name)));
    const tbody = document.querySelector("#stats-table tbody");
    tbody.replaceChildren();
    for (const r of rows) {
      const tr = el("tr");
      tr.append(
        el("td", r.name ?? r[by] ?? "(tanpa)"),
        el("td", r.received, "num"),
        el("td", share(r.responded_in_time, r.received), "num"),
        el("td", share(r.resolved_in_time, r.received), "num"),
        el("td", hours(r.respond_hours_median, r.respond_hours_p90), "num"),
        el("td", hours(r.resolve_hours_median, r.resolve_hours_p90), "num"),
        el("td", r.transfers_per_report === null ? "—" : Number(r.transfers_per_report).toFixed(2), "num"),
        el("td", r.reopened ?? "—", "num"),
        el("td", r.open, "num"),
        el("td", r.overdue, r.overdue ? "num late" : "num"),
      );
      tbody.append(tr);
    }
    if (!rows.length) emptyRow(tbody, 10, "Belum ada laporan.");
  }

  async function loadUnits() {
    const rows = await getJSON("/v1/stats?by=unit");
    const select = $("f-unit");
    const keep = select.value;
    rows.sort((a, b) => String(a.name).localeCompare(String(b.name)));
    select.replaceChildren(el("option", "Semua unit"));
    select.options[0].value = "";
    for (const r of rows) {
      if (r.unit === null || r.unit === undefined) continue;
      const option = el("option", `${r.name} (${r.open} terbuka)`);
      option.value = r.unit;
      option.dataset.name = r.name;
      select.append(option);
    }
    select.value = keep;
  }

  async function loadCategories() {
    const rows = await getJSON("/services.json");
    const select = $("f-category");
    for (const s of rows) {
      const option = el("option", s.service_name);
      option.value = s.service_code;
      select.append(option);
    }
  }

  async function loadBoundaries(bounds) {
    const b = bounds || map.getBounds();
    const bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((x) => x.toFixed(5)).join(",");
    const data = await getJSON(`/v1/boundaries.geojson?bbox=${bbox}`);
    boundaryLayer.clearLayers();
    if (data.too_many) {
      say(`Perbesar peta untuk melihat batas kelurahan (${data.matched} di layar).`);
      return false;
    }
    boundaryLayer.addData(data);
    return true;
  }

  function filters() {
    return {
      unit_id: $("f-unit").value,
      service_code: $("f-category").value,
      status: $("f-status").value,
    };
  }

  // Reload the list, the markers and the overdue list for the filters chosen; a reply for
  // an older choice is dropped. body[data-shown] says which choice is on screen.
  async function refresh() {
    const f = filters();
    const mine = ++seq;
    try {
      const [reports, overdue] = await Promise.all([
        getJSON(`/requests.json${query({ ...f, limit: 1000 })}`),
        getJSON(`/v1/overdue${query({ unit_id: f.unit_id })}`),
      ]);
      if (mine !== seq) return;
      showReports(reports);
      showOverdue(overdue, f.unit_id);
      say("");
    } catch (err) {
      if (mine !== seq) return;
      say(`Gagal memuat: ${err.message}`);
    }
    document.body.dataset.shown = query(f);
    document.body.dataset.loads = String(++loads);
  }

  function legend() {
    const control = L.control({ position: "bottomright" });
    control.onAdd = () => {
      const box = el("div", null, "legend");
      for (const [cls, text] of [["late-dot", "terlambat"], ["open-dot", "terbuka"], ["closed-dot", "selesai"]]) {
        const row = el("div");
        row.append(el("i", null, cls), document.createTextNode(text));
        box.append(row);
      }
      return box;
    };
    control.addTo(map);
  }

  async function start() {
    const cfg = await getJSON("/v1/page");
    const [x0, y0, x1, y1] = cfg.bounds;
    map = L.map("map", { zoomSnap: 0.5 });
    const extent = L.latLngBounds([y0, x0], [y1, x1]);
    map.fitBounds(extent);
    if (cfg.tiles) {
      L.tileLayer(cfg.tiles, { attribution: cfg.attribution, maxZoom: 19 }).addTo(map);
    }
    boundaryLayer = L.geoJSON(null, {
      className: "kelurahan",
      style: { color: "#15365e", weight: 0.8, fillColor: "#9db4cf", fillOpacity: 0.12 },
      onEachFeature: (feature, layer) => {
        const p = feature.properties;
        layer.bindTooltip(() => el("span", `${p.nama} · ${p.kecamatan} · ${p.kota}`), { sticky: true });
      },
    }).addTo(map);
    reportLayer = L.featureGroup().addTo(map);
    legend();
    // the whole set once when it is small enough; otherwise the polygons in view, per move
    if (!(await loadBoundaries(extent))) {
      map.on("moveend", () => loadBoundaries().catch((err) => say(err.message)));
    }
    await Promise.all([loadCategories(), loadUnits()]);
    for (const id of ["f-unit", "f-category", "f-status"]) $(id).addEventListener("change", refresh);
    $("f-by").addEventListener("change", () => loadStats().catch((err) => say(err.message)));
    $("filters").addEventListener("submit", (event) => event.preventDefault());
    await Promise.all([refresh(), loadStats()]);
    document.body.dataset.ready = "1";
  }

  start().catch((err) => say(`Gagal memuat halaman: ${err.message}`));
})();
