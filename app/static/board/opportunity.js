/* Opportunity page: move stage, mark won, mark lost open the same move dialog as the board. */
(function () {
  "use strict";
  var page = document.querySelector(".opportunity-page");
  if (!page) { return; }
  function move(stage) {
    window.CrmMove.open({
      id: page.dataset.opportunityId, version: page.dataset.version, stage: stage, from: page.dataset.stage,
      nextStepText: page.dataset.nextStepText, nextStepDue: page.dataset.nextStepDue,
      onDone: function () { window.location.reload(); },
      onRefused: function () {}, onCancel: function () {}
    });
  }
  var select = document.getElementById("opp-move");
  if (!select) { return; }  // the user may not move this deal: no controls were drawn
  select.addEventListener("change", function () { if (select.value) { var s = select.value; select.value = ""; move(s); } });
  document.querySelectorAll(".opp-actions .mark").forEach(function (b) {
    b.addEventListener("click", function () { move(b.dataset.stage); });
  });
})();
