/* Account search in the triage queue: type, pick, and the assign form posts (with its CSRF token).
   An account with projects the user can see gets a project select in its form (optional). */
(function () {
  "use strict";

  function hidden(name, value) {
    var input = document.createElement("input");
    input.type = "hidden"; input.name = name; input.value = value;
    return input;
  }

  function projectSelect(results, projects) {
    var select = document.createElement("select");
    select.name = "project_id";
    select.className = "input-sm project-choice";
    select.setAttribute("aria-label", results.dataset.projectLabel);
    [{id: "", text: results.dataset.noProject}].concat(projects).forEach(function (project) {
      var option = document.createElement("option");
      option.value = project.id; option.textContent = project.text;
      select.appendChild(option);
    });
    return select;
  }

  function addProjects(results, forms) {
    var ids = Object.keys(forms);
    if (!ids.length || !results.dataset.projectsUrl) { return; }
    var query = ids.map(function (id) { return "account_id=" + encodeURIComponent(id); }).join("&");
    fetch(results.dataset.projectsUrl + "?" + query, {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : {}; })
      .then(function (byAccount) {
        Object.keys(byAccount).forEach(function (accountId) {
          if (forms[accountId] && byAccount[accountId].length) {
            forms[accountId].appendChild(projectSelect(results, byAccount[accountId]));
          }
        });
      });
  }

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
            var forms = {};
            accounts.forEach(function (account) {
              var form = document.createElement("form");
              form.method = "post";
              form.action = results.dataset.action;
              form.className = "assign-form";
              form.appendChild(hidden("csrf_token", results.dataset.csrf));
              form.appendChild(hidden("account_id", account.id));
              var button = document.createElement("button");
              button.type = "submit";
              button.className = "btn btn-xs btn-primary assign-found";
              button.textContent = results.dataset.label + ": " + account.text;
              form.appendChild(button);
              results.appendChild(form);
              forms[account.id] = form;
            });
            addProjects(results, forms);
          });
      }, 200);
    });
  });
})();
