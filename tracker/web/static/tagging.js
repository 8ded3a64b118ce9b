/* The tagging queue: load statements, decide with the keyboard (or buttons), undo, apply to similar,
   dismiss (about no narrative), skip. Everything ingested is put into the page with textContent, never
   as markup. Decisions are sent with the session cookie and the CSRF token from <meta name="csrf-token">.
   The session (its start, and the statements skipped) lives in sessionStorage, so a reload keeps it:
   the undo steps and the count come back from the server's audit log of this user's decisions. */
(function () {
  "use strict";
  var app = document.getElementById("tag-app");
  if (!app) { return; }
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var urls = app.dataset;
  var box = document.getElementById("tag-item");
  var message = document.getElementById("tag-message");
  var newForm = document.getElementById("tag-new");
  var bulkForm = document.getElementById("tag-bulk");
  var undoButton = document.getElementById("tag-undo");

  var items = [];        // queue items loaded so far
  var index = 0;         // the item shown
  var after = null;      // cursor for the next page; null when the queue has no more
  var loading = false;
  var busy = false;      // a decision is on its way: keys wait
  var undoStack = [];    // [{audit_ids: [...], statement_id, label}]
  var sessionCount = 0;
  var remaining = 0;     // statements left to decide in the whole queue (the server's count)
  var suggestLevel = Number(urls.suggestLevel || 0);
  var store = window.sessionStorage;
  var sessionStart = store.getItem("tag-session-start");
  if (!sessionStart) { sessionStart = new Date().toISOString(); store.setItem("tag-session-start", sessionStart); }
  var skipped = JSON.parse(store.getItem("tag-skipped") || "[]");

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "className") { node.className = attrs[k]; } else { node.setAttribute(k, attrs[k]); }
    });
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function say(text, isError) {
    message.hidden = !text;
    message.textContent = text || "";
    message.className = "tag-message" + (isError ? " error" : "");
  }

  function call(method, url, body) {
    var opts = { method: method, credentials: "same-origin",
                 headers: { "Accept": "application/json", "X-CSRFToken": csrf } };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    return fetch(url, opts).then(function (r) {
      var type = r.headers.get("Content-Type") || "";
      var parsed = type.indexOf("application/json") >= 0 ? r.json() : Promise.resolve(null);
      return parsed.then(function (data) {
        if (!r.ok) {
          var text = data && data.error ? data.error.message : "The server answered " + r.status + ".";
          if (r.status === 400 && !data) { text = "Your session expired: reload the page."; }
          if (r.status === 401) { text = "You are logged out: reload the page to log in again."; }
          throw new Error(text);
        }
        return data;
      });
    });
  }

  function progress(p) {
    if (p) {
      remaining = p.remaining;
      document.getElementById("tag-done").textContent = p.done;
      document.getElementById("tag-remaining").textContent = p.remaining;
    }
    document.getElementById("tag-session").textContent = sessionCount;
  }

  /* Position "k of N": N counts the statements of this list (decided ones stay in it) plus those the
     server still has to send, so it agrees with "remaining" once everything is decided. */
  function total() {
    var open = items.filter(function (it) { return !it.decision; }).length;
    return items.length + Math.max(0, remaining - open);
  }

  function linkTo(template, id) { return template.replace(/0$/, String(id)); }

  function current() { return items[index]; }

  function render() {
    box.setAttribute("aria-busy", "false");
    box.replaceChildren();
    var position = document.getElementById("tag-position");
    var item = current();
    if (!item) {
      box.removeAttribute("data-statement-id");
      box.appendChild(el("p", { className: "done" }, items.length ? "End of the queue: nothing left to decide here."
                                                                   : "Nothing waits for a decision."));
      position.textContent = items.length ? (items.length + " of " + total()) : "";
      return;
    }
    var s = item.statement;
    box.dataset.statementId = s.id;
    box.dataset.decision = item.decision || "";
    position.textContent = (index + 1) + " of " + total();

    var meta = el("p", { className: "tag-meta muted" });
    var who = [s.actor, s.outlet && s.outlet !== s.actor ? "via " + s.outlet : null].filter(Boolean).join(" ");
    meta.textContent = [who || "unknown speaker", s.country, s.language,
                        s.published_at ? s.published_at.slice(0, 10) : "undated"].filter(Boolean).join(" · ") + " · ";
    meta.appendChild(el("a", { href: linkTo(urls.statementUrl, s.id) }, "statement #" + s.id));
    box.appendChild(meta);
    var lang = s.language ? { lang: s.language } : {};
    if (s.title && s.title !== s.text) { box.appendChild(el("h2", Object.assign({ className: "tag-title" }, lang), s.title)); }
    box.appendChild(el("blockquote", Object.assign({ className: "statement" }, lang), s.text));

    var state = el("p", { className: "tag-state" });
    if (item.decision) {
      state.textContent = item.decision;
      state.classList.add("decided");
    } else if (item.current) {
      state.textContent = "Now in: " + item.current.label + " (" + item.current.state + ")";
    } else {
      state.textContent = item.kind === "suggested" ? "Suggested; not placed yet." : "Not in any narrative yet.";
    }
    box.appendChild(state);

    var list = el("ol", { className: "choices", "aria-label": "Narratives to choose from" });
    item.candidates.forEach(function (c, i) {
      var li = el("li");
      var b = el("button", { type: "button", className: "choice" + (c.suggested ? " suggested" : ""),
                             "data-key": String(i + 1), "data-narrative-id": String(c.id) });
      b.appendChild(el("kbd", {}, i + 1));
      b.appendChild(el("span", { className: "label" }, c.label));
      if (c.below) { b.classList.add("below"); }
      b.appendChild(el("span", { className: "score muted" },
                       (c.tracked ? "tracked · " : "") + (c.suggested ? "suggested " : "") +
                       (c.score === null ? "" : c.score.toFixed(2)) + (c.below ? " (weak)" : "")));
      b.addEventListener("click", function () { choose(i); });
      li.appendChild(b);
      list.appendChild(li);
    });
    if (!item.candidates.length) {
      box.appendChild(el("p", { className: "muted" }, "No narrative to suggest: press n to start one."));
    }
    box.appendChild(list);

    var actions = el("p", { className: "tag-actions" });
    [["a", "Accept", accept], ["r", "Reject", reject], ["n", "New narrative", openNew],
     ["s", "Apply to similar", openBulk], ["i", "About no narrative", dismiss], ["p", "Skip", skip]].forEach(function (spec) {
      var b = el("button", { type: "button", className: "secondary", "data-key": spec[0] });
      b.appendChild(document.createTextNode(spec[1] + " "));
      b.appendChild(el("kbd", {}, spec[0]));
      b.addEventListener("click", spec[2]);
      actions.appendChild(b);
    });
    box.appendChild(actions);
  }

  function load(first) {
    if (loading) { return Promise.resolve(); }
    loading = true;
    var url = urls.queueUrl + (after ? "?after=" + encodeURIComponent(after) : "");
    if (first && urls.start) { url = urls.queueUrl + "?statement=" + encodeURIComponent(urls.start); }
    return call("GET", url).then(function (data) {
      items = items.concat(data.items.filter(notSkipped));
      after = first && urls.start ? null : data.after;
      progress(data.progress);
      if (first && urls.start) { return call("GET", urls.queueUrl).then(function (more) {
        items = items.concat(more.items.filter(function (i) {
          return String(i.statement.id) !== urls.start && notSkipped(i);
        }));
        after = more.after;
      }); }
    }).catch(function (e) { say(e.message, true); }).then(function () { loading = false; render(); });
  }

  function move(step) {
    var target = index + step;
    if (target < 0) { return; }
    if (target >= items.length) {
      if (after) { load(false).then(function () { if (target < items.length) { index = target; render(); } }); }
      else { index = items.length; render(); }
      return;
    }
    index = target;
    render();
  }

  function notSkipped(item) { return skipped.indexOf(item.statement.id) < 0; }

  function describe(action, label) {
    if (action === "dismiss") { return "About no narrative"; }
    if (action === "clear") { return "Cleared"; }
    return action === "reject" ? "Rejected from: " + label : "Put in: " + label;
  }

  function replaceItem(fresh, decision) {
    if (!fresh) { return; }
    items.forEach(function (it, i) {
      if (it.statement.id === fresh.statement.id) {
        fresh.kind = it.kind; fresh.key = it.key; fresh.decision = decision;
        items[i] = fresh;
      }
    });
  }

  function send(action, narrative) {
    var item = current();
    if (!item || busy) { return; }
    if (!narrative && action !== "clear" && action !== "dismiss") {
      say("Pick a narrative first (1-9) or press n for a new one.", true); return;
    }
    busy = true;
    say("");
    call("POST", urls.decideUrl, { statement_id: item.statement.id, action: action,
                                   narrative_id: narrative ? narrative.id : null })
      .then(function (data) {
        var decision = describe(action, narrative ? narrative.label : "");
        undoStack.push({ audit_ids: data.audit_ids, label: decision + " (statement #" + item.statement.id + ")" });
        sessionCount += 1;
        replaceItem(data.item, decision);
        progress(data.progress);
        undoButton.disabled = false;
        say(decision + ". Press u to undo.");
        move(1);
      })
      .catch(function (e) { say(e.message, true); })
      .then(function () { busy = false; });
  }

  function firstChoice(item) {
    if (item.current) { return { id: item.current.id, label: item.current.label }; }
    return item.candidates[0] || null;
  }

  /* A choice scoring below the suggestion level is no one-key decision: ask first. */
  function sure(choice) {
    if (!choice || !choice.below) { return true; }
    return window.confirm("“" + choice.label + "” scores " + (choice.score === null ? "nothing" : choice.score.toFixed(2)) +
                          ", below the suggestion level (" + suggestLevel.toFixed(2) + "). Put the statement there anyway?");
  }

  function choose(i) {
    var item = current();
    if (item && item.candidates[i] && sure(item.candidates[i])) { send("confirm", item.candidates[i]); }
  }
  function accept() {
    var item = current();
    if (!item) { return; }
    var choice = firstChoice(item);
    if (item.current || sure(choice)) { send("confirm", choice); }
  }
  function reject() { var item = current(); if (item) { send("reject", firstChoice(item)); } }
  function dismiss() { if (current()) { send("dismiss", null); } }

  function skip() {
    var item = current();
    if (!item) { return; }
    skipped.push(item.statement.id);
    store.setItem("tag-skipped", JSON.stringify(skipped));
    items.splice(index, 1);
    say("Skipped statement #" + item.statement.id + " for this session.");
    if (index >= items.length && after) { load(false); } else { render(); }
  }

  /* After a reload: this session's decisions (not undone) come back as undo steps and as the count. */
  function restoreSession() {
    return call("GET", urls.sessionUrl + "?since=" + encodeURIComponent(sessionStart)).then(function (data) {
      undoStack = data.decisions.map(function (d) {
        return { audit_ids: [d.audit_id], label: d.action + " (statement #" + d.statement_id + ")" };
      });
      sessionCount = data.decisions.length;
      undoButton.disabled = undoStack.length === 0;
      progress(null);
    }).catch(function (e) { say(e.message, true); });
  }

  function undo() {
    var step = undoStack.pop();
    if (!step || busy) { if (!step) { say("Nothing to undo.", false); } return; }
    busy = true;
    call("POST", urls.undoUrl, { audit_ids: step.audit_ids })
      .then(function (data) {
        var first = null;
        data.items.forEach(function (fresh) {
          if (!fresh) { return; }
          replaceItem(fresh, "");
          items.forEach(function (it, i) { if (it.statement.id === fresh.statement.id && first === null) { first = i; } });
        });
        sessionCount = Math.max(0, sessionCount - step.audit_ids.length);
        progress(data.progress);
        if (first !== null) { index = first; }
        render();
        say("Undone: " + step.label + ".");
        box.focus();
      })
      .catch(function (e) { undoStack.push(step); say(e.message, true); })
      .then(function () { busy = false; undoButton.disabled = undoStack.length === 0; });
  }

  /* ---- new narrative (n) ---- */
  function openNew() {
    if (!current()) { return; }
    bulkForm.hidden = true;
    newForm.hidden = false;
    newForm.reset();
    document.getElementById("tag-new-label").focus();
  }

  newForm.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var item = current();
    if (!item || busy) { return; }
    busy = true;
    var label = document.getElementById("tag-new-label").value;
    say("Creating the narrative (this embeds the example and scores every statement)…");
    call("POST", urls.seedUrl, { statement_id: item.statement.id, label: label,
                                 description: document.getElementById("tag-new-description").value || null })
      .then(function (data) {
        var decision = "Put in the new narrative: " + data.narrative.label;
        undoStack.push({ audit_ids: data.audit_ids, label: decision });
        undoButton.disabled = false;
        sessionCount += 1;
        replaceItem(data.item, decision);
        progress(data.progress);
        newForm.hidden = true;
        say(decision + " (" + data.narrative.assigned + " statements joined, " + data.narrative.suggested + " suggested).");
        move(1);
        box.focus();
      })
      .catch(function (e) { say(e.message, true); })
      .then(function () { busy = false; });
  });

  /* ---- apply to similar (s) ---- */
  var bulkList = document.getElementById("tag-bulk-list");
  var bulkApply = document.getElementById("tag-bulk-apply");

  function openBulk() {
    var item = current();
    if (!item) { return; }
    newForm.hidden = true;
    var select = document.getElementById("tag-bulk-narrative");
    select.replaceChildren();
    var seen = {};
    var options = (item.current ? [item.current] : []).concat(item.candidates);
    options.forEach(function (c) {
      if (seen[c.id]) { return; }
      seen[c.id] = true;
      select.appendChild(el("option", { value: String(c.id) }, c.label));
    });
    bulkList.hidden = true;
    bulkList.querySelector("ul").replaceChildren();
    bulkApply.disabled = true;
    bulkForm.hidden = false;
    document.getElementById("tag-bulk-action").focus();
  }

  function preview() {
    var item = current();
    if (!item) { return; }
    var q = "?statement=" + item.statement.id + "&action=" + encodeURIComponent(document.getElementById("tag-bulk-action").value) +
            "&narrative_id=" + encodeURIComponent(document.getElementById("tag-bulk-narrative").value) +
            "&threshold=" + encodeURIComponent(document.getElementById("tag-bulk-threshold").value);
    say("");
    call("GET", urls.similarUrl + q).then(function (data) {
      var ul = bulkList.querySelector("ul");
      ul.replaceChildren();
      var rows = [{ statement: item.statement, similarity: 1, current: item.current, self: true }].concat(data.items);
      rows.forEach(function (r) {
        var li = el("li");
        var id = "bulk-" + r.statement.id;
        var box_ = el("input", { type: "checkbox", id: id, value: String(r.statement.id) });
        box_.checked = true;
        var label = el("label", { "for": id });
        label.appendChild(el("span", { className: "sim" }, r.self ? "this one" : r.similarity.toFixed(2)));
        label.appendChild(el("span", { className: "text" }, r.statement.text.slice(0, 240)));
        label.appendChild(el("span", { className: "muted" },
          [r.statement.actor, r.current ? "now in " + r.current.label : "no narrative"].filter(Boolean).join(" · ")));
        li.appendChild(box_);
        li.appendChild(label);
        ul.appendChild(li);
      });
      bulkList.hidden = false;
      bulkApply.disabled = false;
      if (!data.items.length) { say("No other statement reaches that similarity; lower it to see more."); }
    }).catch(function (e) { say(e.message, true); });
  }
  document.getElementById("tag-bulk-preview").addEventListener("click", preview);

  bulkForm.addEventListener("submit", function (ev) {
    ev.preventDefault();
    if (busy) { return; }
    var ids = Array.prototype.map.call(bulkList.querySelectorAll("input:checked"), function (i) { return Number(i.value); });
    if (!ids.length) { say("Tick at least one statement.", true); return; }
    var select = document.getElementById("tag-bulk-narrative");
    var label = select.options[select.selectedIndex].textContent;
    var action = document.getElementById("tag-bulk-action").value;
    busy = true;
    call("POST", urls.bulkUrl, { action: action, narrative_id: Number(select.value), statement_ids: ids })
      .then(function (data) {
        var decision = describe(action, label);
        undoStack.push({ audit_ids: data.audit_ids, label: decision + " (" + ids.length + " statements)" });
        undoButton.disabled = false;
        sessionCount += ids.length;
        data.items.forEach(function (fresh) { replaceItem(fresh, decision); });
        progress(data.progress);
        bulkForm.hidden = true;
        say(decision + " for " + ids.length + " statements. Press u to undo them all.");
        move(1);
        box.focus();
      })
      .catch(function (e) { say(e.message, true); })
      .then(function () { busy = false; });
  });

  Array.prototype.forEach.call(document.querySelectorAll("[data-close]"), function (b) {
    b.addEventListener("click", function () { document.getElementById(b.dataset.close).hidden = true; box.focus(); });
  });

  document.getElementById("tag-prev").addEventListener("click", function () { move(-1); });
  document.getElementById("tag-next").addEventListener("click", function () { move(1); });
  undoButton.addEventListener("click", undo);

  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) { return; }
    var t = ev.target;
    var typing = t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable);
    if (ev.key === "Escape" && (!newForm.hidden || !bulkForm.hidden)) {
      newForm.hidden = true; bulkForm.hidden = true; box.focus(); ev.preventDefault(); return;
    }
    if (typing || !newForm.hidden || !bulkForm.hidden) { return; }
    var key = ev.key;
    var handled = true;
    if (/^[1-9]$/.test(key)) { choose(Number(key) - 1); }
    else if (key === "a") { accept(); }
    else if (key === "r") { reject(); }
    else if (key === "n") { openNew(); }
    else if (key === "s") { openBulk(); }
    else if (key === "u") { undo(); }
    else if (key === "i") { dismiss(); }
    else if (key === "p") { skip(); }
    else if (key === "j") { move(1); }
    else if (key === "k") { move(-1); }
    else { handled = false; }
    if (handled) { ev.preventDefault(); }
  });

  restoreSession().then(function () { return load(true); });
})();
