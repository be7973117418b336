// The merge screen: when another record is chosen to stay, the fields nobody has touched yet take
// its values (unless it has none there). Without this script the choices made stay as they are.
(function () {
  "use strict";
  var form = document.querySelector(".merge-form");
  if (!form) { return; }
  var touched = {};
  form.addEventListener("change", function (event) {
    var input = event.target;
    if (input.name && input.name.indexOf("field_") === 0) { touched[input.name] = true; return; }
    if (input.name !== "survivor") { return; }
    form.querySelectorAll(".merge-row:not(.is-same)").forEach(function (row) {
      var name = "field_" + row.getAttribute("data-field");
      if (touched[name]) { return; }
      var own = row.querySelector('input[value="' + input.value + '"]');
      if (own && own.getAttribute("data-empty") !== "1") { own.checked = true; }
    });
  });
}());
