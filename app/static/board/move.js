/* The move dialog shared by the board and the opportunity page. It asks for what the target
   stage needs (from the server's stage table) and sends one PATCH; the server's rules decide. */
(function () {
  "use strict";
  var configEl = document.getElementById("move-config");
  if (!configEl) { return; }
  var config = JSON.parse(configEl.textContent);
  var ZERO = "00000000-0000-0000-0000-000000000000";
  var $dialog = $("#move-dialog");
  var form = document.getElementById("move-form");
  var errorsBox = form.querySelector(".move-errors");
  var pending = null;

  function evidenceRefs(text) {
    return text.split("\n").map(function (l) { return l.trim(); }).filter(Boolean).map(function (line) {
      if (/^message:\S+$/i.test(line)) { return {type: "message", id: line.slice(8)}; }
      return /^https?:\/\/\S+$/i.test(line) ? {type: "url", url: line} : {type: "note", text: line};
    });
  }

  function clearErrors() {
    errorsBox.hidden = true;
    errorsBox.textContent = "";
    form.querySelectorAll(".field-error").forEach(function (el) { el.textContent = ""; });
    form.querySelectorAll(".has-error").forEach(function (el) { el.classList.remove("has-error"); });
  }

  function showErrors(messages, fallback) {
    var general = [];
    if (messages && typeof messages === "object") {
      Object.keys(messages).forEach(function (field) {
        var text = [].concat(messages[field]).join(" ");
        var slot = form.querySelector('.field-error[data-for="' + field + '"]');
        if (slot && slot.offsetParent !== null) {
          slot.textContent = text;
          slot.closest(".form-group") && slot.closest(".form-group").classList.add("has-error");
        } else { general.push(text); }
      });
    } else if (messages) { general.push(String(messages)); }
    if (!general.length && fallback) { general.push(fallback); }
    if (general.length) { errorsBox.textContent = general.join(" "); errorsBox.hidden = false; }
  }

  /* Times are typed and shown in the user's zone (config.timezone: their own or the studio's),
     whatever zone the browser is in; the API gets UTC. */
  var zone = config.timezone || "UTC";
  var partsFormat = new Intl.DateTimeFormat("en-US", {timeZone: zone, hourCycle: "h23", year: "numeric",
    month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit"});

  function wallClock(ms) {  // the zone's wall-clock reading of an instant, as if it were UTC
    var p = {};
    partsFormat.formatToParts(new Date(ms)).forEach(function (x) { p[x.type] = x.value; });
    return Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour % 24, +p.minute, +p.second);
  }

  function toIso(localValue) {  // "2026-12-01T14:00" in the user's zone -> ISO 8601 UTC
    if (!localValue) { return null; }
    var asUtc = Date.parse(localValue + (localValue.length === 16 ? ":00" : "") + "Z");
    var guess = asUtc - (wallClock(asUtc) - asUtc);
    guess = asUtc - (wallClock(guess) - guess);  // the offset at the instant itself (DST edges)
    return new Date(guess).toISOString();
  }

  function toLocalInput(iso) {  // ISO 8601 -> "2026-12-01T14:00" in the user's zone
    if (!iso) { return ""; }
    return new Date(wallClock(Date.parse(iso))).toISOString().slice(0, 16);
  }

  var displayFormat = new Intl.DateTimeFormat(config.locale || undefined,
    {timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit"});

  window.CrmTime = {
    toIso: toIso, toLocalInput: toLocalInput,
    format: function (iso) { return iso ? displayFormat.format(new Date(iso)) : ""; }
  };

  window.CrmMove = {
    open: function (opts) {
      pending = opts;
      clearErrors();
      form.reset();
      var needed = config.requirements[opts.stage] || [];
      form.querySelectorAll(".move-field").forEach(function (el) {
        el.hidden = needed.indexOf(el.dataset.field) === -1;
      });
      form.elements.next_step_text.value = opts.nextStepText || "";
      form.elements.next_step_due_at.value = opts.nextStepDue || "";
      form.querySelector(".move-target").textContent = config.labels[opts.stage] || opts.stage;
      var reopenNote = form.querySelector(".move-reopen-note");
      if (reopenNote) { reopenNote.hidden = config.closedStages.indexOf(opts.from) === -1 || config.closedStages.indexOf(opts.stage) !== -1; }
      $dialog.modal("show");
    }
  };

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (!pending) { return; }
    var current = pending;
    var body = {stage: current.stage, evidence_refs: evidenceRefs(form.elements.evidence.value)};
    if (current.version) { body.version = parseInt(current.version, 10); }
    (config.requirements[current.stage] || []).forEach(function (name) {
      var value = form.elements[name].value;
      if (name === "next_step_due_at") {
        if (value === (current.nextStepDue || "")) { return; }  // untouched: the stored time stays as it is
        value = toIso(value);
      }
      body[name] = value === "" ? null : value;
    });
    clearErrors();
    form.querySelector(".move-submit").disabled = true;
    fetch(config.api.replace(ZERO, current.id), {
      method: "PATCH", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": config.csrf, "Accept": "application/json"},
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (response.ok) {
          pending = null;
          $dialog.modal("hide");
          current.onDone(data);
          return;
        }
        var fallback = response.status === 403 ? config.messages.forbidden
          : response.status === 409 ? config.messages.conflict : config.messages.failed;
        current.onRefused(data.message);
        showErrors(data.message, fallback);
      });
    }).catch(function () {
      current.onRefused(null);
      showErrors(null, config.messages.network);
    }).finally(function () {
      form.querySelector(".move-submit").disabled = false;
    });
  });

  var picker = form.querySelector(".message-picker");
  if (picker) {
    picker.addEventListener("change", function () {
      if (!picker.value) { return; }
      var box = form.elements.evidence;
      box.value = (box.value.trim() ? box.value.trim() + "\n" : "") + "message:" + picker.value;
      picker.value = "";
    });
  }

  form.querySelectorAll(".move-cancel").forEach(function (b) {
    b.addEventListener("click", function () { $dialog.modal("hide"); });
  });
  $dialog.on("hidden.bs.modal", function () {
    if (pending) { var p = pending; pending = null; p.onCancel(); }
  });
})();
