/* Kanban: drag and drop (SortableJS) or the keyboard move menu open the move dialog; a refused
   move puts the card back; column counts and sums come from the server after each move. */
(function () {
  "use strict";
  var boardEl = document.getElementById("board");
  if (!boardEl) { return; }

  // The board fills the window below its top edge (board.css), so its scrollbar stays on screen.
  function fitHeight() {
    boardEl.style.setProperty("--board-top", Math.round(boardEl.getBoundingClientRect().top + window.scrollY) + "px");
  }
  fitHeight();
  window.addEventListener("resize", fitHeight);
  window.addEventListener("load", fitHeight);

  function listOf(stage) { return boardEl.querySelector('.board-cards[data-stage="' + stage + '"]'); }

  function refreshSummary() {
    fetch(boardEl.dataset.summaryUrl, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (summary) {
        Object.keys(summary).forEach(function (stage) {
          var col = boardEl.querySelector('.board-column[data-stage="' + stage + '"]');
          if (!col) { return; }
          col.querySelector(".column-count").textContent = summary[stage].count;
          col.querySelector(".column-amount").textContent = summary[stage].amount;
          var weighted = col.querySelector(".column-weighted");  // open columns only
          if (weighted) { weighted.textContent = summary[stage].weighted; }
        });
      });
  }

  function applyResult(card, result) {
    card.dataset.version = result.version;
    card.dataset.stage = result.stage;
    card.dataset.nextStepText = result.next_step_text || "";
    card.dataset.nextStepDue = window.CrmTime.toLocalInput(result.next_step_due_at);
    var state = result.next_step_state;  // the server's verdict (app/domain/next_step.py)
    card.classList.toggle("is-overdue", state === "overdue");
    card.classList.toggle("is-due-today", state === "today");
    var due = card.querySelector(".card-due");
    if (due && result.next_step_due_at) {
      due.innerHTML = "";
      var span = document.createElement("span");
      span.className = "due due-" + state;
      span.textContent = window.CrmTime.format(result.next_step_due_at);
      due.appendChild(span);
    }
    var days = card.querySelector(".card-days");
    if (days) { days.textContent = days.textContent.replace(/\d+/, "0"); }
    var menu = card.querySelector(".move-menu");
    if (menu) {
      Array.prototype.forEach.call(menu.options, function (o) { o.hidden = o.value === result.stage; });
    }
  }

  function startMove(card, fromList, oldIndex, target) {
    card.classList.add("is-moving");
    var putBack = function () {
      fromList.insertBefore(card, fromList.children[oldIndex] || null);
      card.classList.remove("is-moving");
    };
    window.CrmMove.open({
      id: card.dataset.opportunityId, version: card.dataset.version, stage: target, from: card.dataset.stage,
      nextStepText: card.dataset.nextStepText, nextStepDue: card.dataset.nextStepDue,
      onDone: function (data) {
        var list = listOf(target);
        if (card.parentNode !== list) { list.insertBefore(card, list.firstChild); }
        card.classList.remove("is-moving");
        applyResult(card, data.result);
        refreshSummary();
      },
      onRefused: putBack,
      onCancel: putBack
    });
  }

  boardEl.querySelectorAll(".board-cards").forEach(function (list) {
    Sortable.create(list, {
      group: "board", animation: 120, filter: "select, a, button", preventOnFilter: false, forceFallback: true,
      draggable: ".board-card:not(.is-locked)",  // cards the user may not move (the server says which)
      onStart: function () { boardEl.classList.add("is-dragging"); },  // won/lost light up as drop zones
      onEnd: function (evt) {
        boardEl.classList.remove("is-dragging");
        if (evt.from === evt.to) { return; }
        startMove(evt.item, evt.from, evt.oldIndex, evt.to.dataset.stage);
      }
    });
  });

  boardEl.addEventListener("change", function (event) {
    var menu = event.target;
    if (!menu.classList.contains("move-menu") || !menu.value) { return; }
    var card = menu.closest(".board-card"), target = menu.value;
    menu.value = "";
    var fromList = card.parentNode;
    var oldIndex = Array.prototype.indexOf.call(fromList.children, card);
    var list = listOf(target);
    list.insertBefore(card, list.firstChild);
    startMove(card, fromList, oldIndex, target);
  });

  boardEl.addEventListener("click", function (event) {
    var button = event.target.closest(".load-more");
    if (!button) { return; }
    var offset = parseInt(button.dataset.offset, 10);
    var url = button.dataset.url + (button.dataset.url.indexOf("?") === -1 ? "?" : "&") + "offset=" + offset;
    fetch(url, {credentials: "same-origin"}).then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.text(); }).then(function (html) {
      var list = listOf(button.dataset.stage);
      var holder = document.createElement("div");
      holder.innerHTML = html;
      var added = holder.querySelectorAll(".board-card").length;
      while (holder.firstChild) { list.appendChild(holder.firstChild); }
      button.dataset.offset = offset + added;
      if (added < 25) { button.classList.add("hidden"); }
    });
  });
})();
