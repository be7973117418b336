/* Relation fields of the generated forms: select2 asks the server while the user types. A field
   with data-depends-field (a project of the chosen account) sends that field's value along.
   select2's own messages ("No results found", "Searching…") come in the page's language from the
   script tag's data attributes; set as select2's defaults before the page is ready, so FAB's own
   selects (enums, users) use them too. */
(function () {
  "use strict";
  var texts = (document.currentScript && document.currentScript.dataset) || {};
  var language = {};
  [["noResults", texts.noResults], ["searching", texts.searching], ["loadingMore", texts.loadingMore],
   ["errorLoading", texts.errorLoading], ["removeAllItems", texts.removeAllItems]].forEach(function (pair) {
    if (pair[1]) { language[pair[0]] = function () { return pair[1]; }; }
  });
  if ($.fn.select2 && $.fn.select2.defaults) { $.fn.select2.defaults.set("language", language); }

  $(function () {
    $(".record-select").each(function () {
      var el = $(this);
      var dependsOn = el.data("depends-field") ? $("#" + el.data("depends-field")) : null;
      el.select2({
        width: "100%", allowClear: true, placeholder: "", minimumInputLength: 0, language: language,
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
}());
