/* Relation fields of the generated forms: select2 asks the server while the user types. A field
   with data-depends-field (a project of the chosen account) sends that field's value along. */
$(function () {
  "use strict";
  $(".record-select").each(function () {
    var el = $(this);
    var dependsOn = el.data("depends-field") ? $("#" + el.data("depends-field")) : null;
    el.select2({
      width: "100%", allowClear: true, placeholder: "", minimumInputLength: 0,
      ajax: {url: el.data("url"), dataType: "json", delay: 200, cache: true,
             data: function (params) {
               var query = {q: params.term || ""};
               if (dependsOn && dependsOn.val()) { query[el.data("depends-param")] = dependsOn.val(); }
               return query;
             }}
    });
    if (dependsOn) {  // another account: a project of the previous one no longer fits
      dependsOn.on("change", function () {
        if (el.val()) { el.val(null).trigger("change"); }
      });
    }
  });
});
