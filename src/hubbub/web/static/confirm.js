// Asks before a form that removes, revokes or ends something is sent: one click on a row's
// button should not take a topic, a member or a token away. Pages work without this file, and
// the server checks every change anyway.
(function () {
  "use strict";
  var DESTRUCTIVE = /\/(remove|revoke)$|\/crisis\/end$/;

  function question(form, button) {
    var verb = button ? button.textContent.trim() : "Remove";
    var row = form.closest("tr");
    var cell = row ? row.querySelector("td, th") : null;
    var what = cell && !cell.contains(form) ? cell.textContent.replace(/\s+/g, " ").trim() : "";
    if (what.length > 80) what = what.slice(0, 79) + "…";
    return verb + (what ? " “" + what + "”" : "") + "? This cannot be undone.";
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || form.method.toLowerCase() !== "post") return;
    var path = (form.getAttribute("action") || "").split("?")[0];
    if (!DESTRUCTIVE.test(path)) return;
    var button = event.submitter || form.querySelector("button");
    if (!window.confirm(question(form, button))) event.preventDefault();
  }, true);
})();
