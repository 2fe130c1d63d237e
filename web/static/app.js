// crisp workspace UI: streamed AI drafts and answers, and small keyboard
// helpers. Plain JavaScript, no build step, no third-party code besides
// htmx. Streams are server-sent events read with fetch, so the request can
// be a POST that carries the session's CSRF token.
(function () {
  "use strict";

  function csrf() {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.getAttribute("content") : "";
  }

  // stream POSTs form data and calls on.delta(text) for each delta event,
  // then on.done(data) or on.error(message).
  async function stream(url, data, on) {
    var res;
    try {
      res = await fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRF-Token": csrf(), "Accept": "text/event-stream" },
        body: new URLSearchParams(data),
      });
    } catch (e) {
      on.error("crisp could not be reached. Check your connection and try again.");
      return;
    }
    var type = res.headers.get("Content-Type") || "";
    if (!res.ok || type.indexOf("text/event-stream") !== 0 || !res.body) {
      var msg = "The request failed (" + res.status + ").";
      try { msg = (await res.json()).error.message || msg; } catch (e) { /* keep the status text */ }
      on.error(msg);
      return;
    }
    var reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    var buf = "", finished = false;
    for (;;) {
      var r = await reader.read();
      if (r.done) break;
      buf += r.value.replace(/\r\n/g, "\n");
      var i;
      while ((i = buf.indexOf("\n\n")) >= 0) {
        var raw = buf.slice(0, i);
        buf = buf.slice(i + 2);
        var ev = "message", lines = [];
        raw.split("\n").forEach(function (line) {
          if (line.indexOf("event:") === 0) ev = line.slice(6).trim();
          else if (line.indexOf("data:") === 0) lines.push(line.slice(5).replace(/^ /, ""));
        });
        var payload = {};
        try { payload = JSON.parse(lines.join("\n") || "{}"); } catch (e) { continue; }
        if (ev === "delta") on.delta(payload.text || "");
        else if (ev === "done") { finished = true; on.done(payload); }
        else if (ev === "error") { finished = true; on.error((payload.error && payload.error.message) || "The AI request failed."); }
      }
    }
    if (!finished) on.error("The stream ended early.");
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function metaLine(box, d, kind) {
    box.textContent = "";
    var line = el("span", "meta");
    line.appendChild(document.createTextNode(kind + " · "));
    if (d.audit_id) {
      var a = el("a", "mono", d.audit_id);
      a.href = "/ui/usage/" + encodeURIComponent(d.audit_id);
      line.appendChild(document.createTextNode("audit "));
      line.appendChild(a);
    }
    box.appendChild(line);
    var fields = d.context_fields || [];
    var shown = fields.slice(0, 3).join(", ");
    if (fields.length > 3) shown += " +" + (fields.length - 3) + " more";
    var ctx = el("span", "meta", " · context: " + (fields.length ? shown : "none"));
    ctx.title = fields.join("\n");
    box.appendChild(ctx);
    var red = d.redactions || {};
    var names = Object.keys(red);
    if (names.length) {
      box.appendChild(el("span", "meta", " · redacted: " + names.map(function (n) { return n + " ×" + red[n]; }).join(", ")));
    }
  }

  // Draft reply: stream into the reply box; the draft's audit id rides
  // along with the reply so the sent message links its AI use.
  function setupDraft() {
    var btn = document.getElementById("draft-btn");
    var box = document.getElementById("reply-text");
    var status = document.getElementById("draft-status");
    var auditID = document.getElementById("audit-id");
    var tone = document.getElementById("tone");
    if (!btn || !box) return;
    btn.addEventListener("click", function () {
      btn.disabled = true;
      box.value = "";
      auditID.value = "";
      box.setAttribute("aria-busy", "true");
      box.classList.add("streaming");
      status.className = "draft-status busy";
      status.textContent = "Drafting with approved context…";
      stream(btn.dataset.url, { tone: tone ? tone.value : "" }, {
        delta: function (t) { box.value += t; box.scrollTop = box.scrollHeight; },
        done: function (d) {
          auditID.value = d.audit_id || "";
          status.className = "draft-status done";
          metaLine(status, d, "AI draft");
          finish();
        },
        error: function (m) { status.className = "draft-status error"; status.textContent = m; finish(); },
      });
      function finish() {
        btn.disabled = false;
        box.removeAttribute("aria-busy");
        box.classList.remove("streaming");
        box.focus();
      }
    });
    // A reply typed from scratch after clearing the draft no longer used it.
    box.addEventListener("input", function () {
      if (box.value.trim() === "" && auditID.value) {
        auditID.value = "";
        status.className = "draft-status";
        status.textContent = "Draft discarded.";
      }
    });
    box.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        box.form.requestSubmit();
      }
    });
  }

  // Ask about the account: stream the answer under the box.
  function setupAsk() {
    var form = document.getElementById("ask-form");
    var out = document.getElementById("ask-answer");
    if (!form || !out) return;
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var input = form.querySelector("input[name=question]");
      var q = input.value.trim();
      if (!q) return;
      var btn = form.querySelector("button");
      btn.disabled = true;
      out.hidden = false;
      out.className = "answer busy";
      out.textContent = "";
      var question = el("p", "q", q);
      var text = el("p", "a");
      var meta = el("p", "meta-line");
      out.appendChild(question);
      out.appendChild(text);
      out.appendChild(meta);
      stream(form.dataset.url, { question: q }, {
        delta: function (t) { text.textContent += t; },
        done: function (d) { out.className = "answer"; metaLine(meta, d, "AI answer"); btn.disabled = false; },
        error: function (m) { out.className = "answer error"; text.textContent = m; btn.disabled = false; },
      });
    });
  }

  // "/" focuses the page's search or ask box, as in many support tools.
  document.addEventListener("keydown", function (e) {
    if (e.key !== "/" || e.ctrlKey || e.metaKey || e.altKey) return;
    var t = e.target;
    if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable)) return;
    var box = document.getElementById("q") || document.getElementById("ask-q");
    if (box) { e.preventDefault(); box.focus(); }
  });

  document.addEventListener("DOMContentLoaded", function () {
    setupDraft();
    setupAsk();
  });
})();
