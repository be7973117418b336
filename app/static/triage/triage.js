/* Account search in the triage queue: type, pick, and the assign form posts (with its CSRF token). */
(function () {
  "use strict";
  document.querySelectorAll(".account-search").forEach(function (box) {
    var input = box.querySelector(".account-search-input");
    var results = box.querySelector(".account-search-results");
    var timer = null;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var term = input.value.trim();
        results.innerHTML = "";
        if (term.length < 2) { return; }
        fetch(input.dataset.url + "?q=" + encodeURIComponent(term), {credentials: "same-origin"})
          .then(function (r) { return r.json(); })
          .then(function (accounts) {
            results.innerHTML = "";
            accounts.forEach(function (account) {
              var form = document.createElement("form");
              form.method = "post";
              form.action = results.dataset.action;
              [["csrf_token", results.dataset.csrf], ["account_id", account.id]].forEach(function (pair) {
                var hidden = document.createElement("input");
                hidden.type = "hidden"; hidden.name = pair[0]; hidden.value = pair[1];
                form.appendChild(hidden);
              });
              var button = document.createElement("button");
              button.type = "submit";
              button.className = "btn btn-xs btn-primary assign-found";
              button.textContent = results.dataset.label + ": " + account.text;
              form.appendChild(button);
              results.appendChild(form);
            });
          });
      }, 200);
    });
  });
})();
