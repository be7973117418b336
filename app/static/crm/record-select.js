/* Relation fields of the generated forms: select2 asks the server while the user types. */
$(function () {
  "use strict";
  $(".record-select").each(function () {
    var el = $(this);
    el.select2({
      width: "100%", allowClear: true, placeholder: "", minimumInputLength: 0,
      ajax: {url: el.data("url"), dataType: "json", delay: 200, cache: true,
             data: function (params) { return {q: params.term || ""}; }}
    });
  });
});
