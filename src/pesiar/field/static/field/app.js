// Pesiar agent app: the worklist kept on the phone (IndexedDB), visits, events and
// registrations recorded into a local queue, sent through the REST API with their client_id
// (a retry never makes a second row), and each record's state: waiting, sent, refused (with
// the reason) or flagged (recorded against an older version of the family).
(function () {
  "use strict";
  var C = JSON.parse(document.getElementById("app-config").textContent);
  var W = C.words;
  var DB_NAME = "pesiar-agent";
  var db = null;
  var items = [];
  var syncing = false;
  var waiting = 0;

  // --- IndexedDB -------------------------------------------------------------------------
  function openDb() {
    return new Promise(function (resolve, reject) {
      var req = indexedDB.open(DB_NAME, 1);
      req.onupgradeneeded = function () {
        var d = req.result;
        d.createObjectStore("meta");
        d.createObjectStore("items", { keyPath: "id" });
        d.createObjectStore("queue", { keyPath: "client_id" });
      };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
  }
  function tx(store, mode, work) {
    return new Promise(function (resolve, reject) {
      var t = db.transaction(store, mode);
      var result = work(t.objectStore(store));
      t.oncomplete = function () { resolve(result && "result" in result ? result.result : result); };
      t.onerror = function () { reject(t.error); };
    });
  }
  var all = function (store) { return tx(store, "readonly", function (s) { return s.getAll(); }); };
  var put = function (store, value, key) {
    return tx(store, "readwrite", function (s) { return key === undefined ? s.put(value) : s.put(value, key); });
  };
  var get = function (store, key) { return tx(store, "readonly", function (s) { return s.get(key); }); };
  var clear = function (store) { return tx(store, "readwrite", function (s) { return s.clear(); }); };

  // --- helpers ---------------------------------------------------------------------------
  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else if (k === "class") node.className = attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) node.appendChild(c); });
    return node;
  }
  function label(pairs, code) {
    for (var i = 0; i < pairs.length; i++) if (pairs[i][0] === code) return pairs[i][1];
    return code;
  }
  function field(name, text, input) {
    input.name = name; input.id = "app-" + name;
    return el("div", { class: "field" }, [el("label", { for: input.id, text: text }), input,
      el("p", { class: "field-error", id: "app-" + name + "-error", hidden: "" })]);
  }
  function select(pairs, value) {
    var s = el("select");
    pairs.forEach(function (p) { var o = el("option", { value: p[0], text: p[1] }); if (p[0] === value) o.selected = true; s.appendChild(o); });
    return s;
  }
  function setNet() {
    var net = document.getElementById("net");
    net.textContent = navigator.onLine ? W.online : W.offline;
    net.dataset.online = navigator.onLine ? "1" : "0";
  }

  // --- worklist --------------------------------------------------------------------------
  async function refresh() {
    var out = [];
    for (var offset = 0; ; offset += 500) {
      var r = await fetch(C.api + "/worklist?state=OPEN&limit=500&offset=" + offset, { credentials: "same-origin" });
      if (!r.ok) throw new Error(r.status);
      var page = await r.json();
      out = out.concat(page);
      if (page.length < 500) break;
    }
    await clear("items");
    for (var i = 0; i < out.length; i++) await put("items", out[i]);
    await put("meta", { user: C.user, sweep: C.sweep, fetched_at: Date.now() }, "state");
    items = out;
    render();
  }
  async function expireOrLoad() {
    var meta = await get("meta", "state");
    if (meta && meta.user !== C.user) { await clear("items"); await clear("queue"); meta = null; }
    var tooOld = meta && Date.now() - meta.fetched_at > C.offlineDays * 86400000;
    if (tooOld) { await clear("items"); flash(W.expired); meta = null; }
    items = await all("items");
    var stale = !meta || meta.sweep !== C.sweep;
    // online: always fresh (and so right after each sweep); offline: what the phone kept
    if (navigator.onLine || stale) { try { await refresh(); } catch (e) { /* offline */ } }
    var m = await get("meta", "state");
    document.getElementById("fetched").textContent = m ? "· " + W.updated + " " + new Date(m.fetched_at).toLocaleString() : "";
  }

  // --- the queue and sync ----------------------------------------------------------------
  var ENDPOINT = { visit: "/visits", event: "/events", registration: "/registrations" };
  async function enqueue(kind, payload, title, item) {
    payload.client_id = uuid();
    if (item) { item.version += 1; await put("items", item); } // this device's own change
    await put("queue", { client_id: payload.client_id, kind: kind, payload: payload, title: title,
      state: "pending", reason: "", created: Date.now() });
    flash(W.saved);
    await renderQueue();
    sync();
  }
  async function sync() {
    if (syncing || !navigator.onLine) return;
    syncing = true;
    try {
      var queue = (await all("queue")).filter(function (q) { return q.state === "pending"; });
      queue.sort(function (a, b) { return a.created - b.created; });
      for (var i = 0; i < queue.length; i++) {
        var q = queue[i], r;
        try {
          r = await fetch(C.api + ENDPOINT[q.kind], { method: "POST", credentials: "same-origin",
            headers: { "Content-Type": "application/json", "X-CSRFToken": C.csrf },
            body: JSON.stringify(q.payload) });
        } catch (e) { break; } // no connection after all: try again later
        if (r.status === 401 || r.status === 403) { flash(W.login); break; }
        if (r.status >= 500) break;
        var body = {};
        try { body = await r.json(); } catch (e) { /* not JSON */ }
        if (r.ok) {
          q.state = body.conflict ? "conflict" : "sent";
          q.server_id = body.id;
        } else {
          q.state = "refused";
          q.reason = body.problems && body.problems.length ? body.problems.join("; ")
            : Array.isArray(body.detail) ? body.detail.map(function (d) { return (d.loc || []).slice(-1)[0] + ": " + d.msg; }).join("; ")
            : String(body.detail || r.status);
        }
        q.sent_at = Date.now();
        await put("queue", q);
      }
    } finally { syncing = false; }
    await renderQueue();
    if (navigator.onLine) { try { await refresh(); } catch (e) { /* later */ } }
  }

  // --- rendering -------------------------------------------------------------------------
  function flash(text) {
    var net = document.getElementById("net");
    net.textContent = text;
    setTimeout(setNet, 4000);
  }
  async function renderQueue() {
    var list = document.getElementById("queue");
    var queue = await all("queue");
    waiting = queue.filter(function (q) { return q.state === "pending"; }).length;
    queue.sort(function (a, b) { return b.created - a.created; });
    list.replaceChildren.apply(list, queue.map(function (q) {
      return el("li", { class: "card queued", "data-state": q.state, "data-client-id": q.client_id }, [
        el("strong", { text: W[q.kind] + " · " + q.title }),
        el("div", { class: "sync-state sync-" + q.state, text: W[q.state] }),
        q.reason ? el("div", { class: "field-error", text: q.reason }) : null,
      ]);
    }));
  }
  function render() {
    var list = document.getElementById("items");
    if (!items.length) { list.replaceChildren(el("li", { class: "empty", text: W.no_items })); return; }
    items.sort(function (a, b) { return b.priority - a.priority; });
    list.replaceChildren.apply(list, items.map(function (item) {
      var visit = el("button", { type: "button", class: "button", "data-visit": item.id, text: W.record_visit });
      visit.onclick = function () { visitForm(item); };
      var reg = el("button", { type: "button", class: "button", "data-register": item.id, text: W.register });
      reg.onclick = function () { registrationForm(item); };
      return el("li", { class: "card family", "data-item": item.id }, [
        el("div", { class: "family-head" }, [el("strong", { class: "head", text: item.head_name || item.kk })]),
        el("div", { class: "meta", text: item.village_name + " · " + item.members_uncovered + "/" + item.members_total }),
        item.outcome ? el("div", { class: "meta", text: label(W.outcomes, item.outcome) }) : null,
        el("div", { class: "actions" }, [visit, reg]),
      ]);
    }));
  }
  function showForm(title, nodes, onSave) {
    var area = document.getElementById("form-area");
    var save = el("button", { type: "submit", class: "primary", text: W.save });
    var form = el("form", { novalidate: "" }, [el("h2", { text: title })].concat(nodes, [save]));
    form.onsubmit = function (e) {
      e.preventDefault();
      form.querySelectorAll(".field-error").forEach(function (p) { p.hidden = true; });
      var problems = onSave(form);
      if (problems) {
        Object.keys(problems).forEach(function (name) {
          var p = document.getElementById("app-" + name + "-error");
          p.textContent = problems[name]; p.hidden = false;
        });
        return;
      }
      area.hidden = true; area.replaceChildren();
    };
    area.replaceChildren(form); area.hidden = false;
    area.scrollIntoView();
  }
  function need(form, names) {
    var problems = null;
    names.forEach(function (n) { if (!form.elements[n].value.trim()) { problems = problems || {}; problems[n] = W.required; } });
    return problems;
  }
  function visitForm(item) {
    var date = el("input", { type: "date", value: C.today, max: C.today });
    showForm(W.record_visit + ": " + (item.head_name || item.kk), [
      field("date", W.f_date, date),
      field("outcome", W.f_outcome, select(W.outcomes, "")),
      field("reason", W.f_reason, el("input")),
      field("note", W.f_note, el("textarea", { rows: "2" })),
    ], function (form) {
      var f = form.elements;
      var problems = need(form, ["date", "outcome"]);
      if (!problems && f.outcome.value === "REFUSED" && !f.reason.value.trim()) problems = { reason: W.reason_needed };
      if (problems) return problems;
      enqueue("visit", { item_id: item.id, date: f.date.value, outcome: f.outcome.value,
        reason: f.reason.value, note: f.note.value, base_version: item.version },
        (item.head_name || item.kk) + " · " + label(W.outcomes, f.outcome.value), item);
      return null;
    });
  }
  function registrationForm(item) {
    var boxes = item.members.filter(function (m) { return m.nik && m.status !== "ACTIVE" && m.status !== "INACTIVE"; })
      .map(function (m) {
        var box = el("input", { type: "checkbox", name: "member", value: m.nik });
        box.checked = true;
        return el("label", { class: "check" }, [box, el("span", { text: m.name + " · " + m.relation })]);
      });
    var members = el("fieldset", {}, [el("legend", { text: W.f_members })].concat(boxes,
      [el("p", { class: "field-error", id: "app-member-error", hidden: "" })]));
    var segment = item.pathways.indexOf("PBI_APBD") >= 0 ? "PBI_APBD" : "PBPU";
    showForm(W.register + ": " + (item.head_name || item.kk), [
      members,
      field("segment", W.f_segment, select(W.segments, segment)),
      field("faskes_code", W.f_faskes, el("input", { maxlength: "20" })),
    ], function (form) {
      var niks = Array.prototype.filter.call(form.querySelectorAll("input[name=member]"), function (b) { return b.checked; })
        .map(function (b) { return b.value; });
      var problems = need(form, ["faskes_code"]);
      if (!niks.length) { problems = problems || {}; problems.member = W.choose_members; }
      if (problems) return problems;
      enqueue("registration", { kk: item.kk, niks: niks, segment: form.elements.segment.value, jkn_class: 3,
        faskes_code: form.elements.faskes_code.value.trim(), item_id: item.id, submit: true,
        base_version: item.version }, item.head_name || item.kk, item);
      return null;
    });
  }
  function eventForm() {
    showForm(W.event, [
      field("village", W.f_village, select(C.villages, C.villages.length ? C.villages[0][0] : "")),
      field("date", W.f_date, el("input", { type: "date", value: C.today, max: C.today })),
      field("kind", W.f_kind, select(W.kinds, W.kinds[0][0])),
      field("attendees", W.f_attendees, el("input", { type: "number", min: "0", inputmode: "numeric" })),
    ], function (form) {
      var f = form.elements;
      var problems = need(form, ["date", "attendees"]);
      if (problems) return problems;
      enqueue("event", { village: f.village.value, date: f.date.value, kind: f.kind.value,
        attendees: parseInt(f.attendees.value, 10), notes: "" }, label(W.kinds, f.kind.value));
      return null;
    });
  }

  // --- start -----------------------------------------------------------------------------
  async function start() {
    setNet();
    db = await openDb();
    window.addEventListener("online", function () { setNet(); sync(); });
    window.addEventListener("offline", setNet);
    document.getElementById("sync-now").onclick = sync;
    document.getElementById("refresh").onclick = function () { refresh().catch(function () { setNet(); }); };
    document.getElementById("new-event").onclick = eventForm;
    document.querySelectorAll("form[action$='/logout/']").forEach(function (form) {
      form.addEventListener("submit", function (e) {
        if (waiting && !confirm(W.logout_pending.replace("%(n)s", waiting))) e.preventDefault();
      });
    });
    await expireOrLoad();
    render();
    await renderQueue();
    sync();
    setInterval(sync, 30000);
    if ("serviceWorker" in navigator) navigator.serviceWorker.register(C.sw).catch(function () {});
    document.body.dataset.appReady = "1";
  }
  start();
})();
