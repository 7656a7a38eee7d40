// Keyboard shortcuts for the inbox. Every page works without this file; it only moves focus
// and clicks controls that are already on the page (the server still checks every change).
(function () {
  "use strict";
  var rows = Array.prototype.slice.call(
    document.querySelectorAll("table.inbox tbody tr[id^='conversation-']")
  );
  var current = -1;

  function typing(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" ||
      (target && target.isContentEditable);
  }
  function select(index) {
    if (!rows.length) return false;
    current = Math.max(0, Math.min(rows.length - 1, index));
    rows.forEach(function (row, i) { row.classList.toggle("current", i === current); });
    rows[current].scrollIntoView({ block: "nearest" });
    return true;
  }
  function inCurrent(selector) {
    return current >= 0 ? rows[current].querySelector(selector) : null;
  }
  function byId(id) { return document.getElementById(id); }

  var keys = {
    j: function () { return select(current + 1); },
    k: function () { return select(current - 1); },
    o: function () { var link = inCurrent("a"); if (link) link.click(); return !!link; },
    x: function () {
      var box = inCurrent("input[type=checkbox]");
      if (box) box.checked = !box.checked;
      return !!box;
    },
    r: function () { var box = byId("reply-body"); if (box) box.focus(); return !!box; },
    n: function () { var box = byId("note-body"); if (box) box.focus(); return !!box; },
    e: function () { var button = byId("resolve"); if (button) button.click(); return !!button; },
    u: function () { var link = byId("back"); if (link) link.click(); return !!link; }
  };
  keys.Enter = keys.o;

  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey || typing(event.target)) return;
    // Enter on a focused link or button keeps its usual meaning.
    if (event.key === "Enter" && event.target !== document.body) return;
    var action = Object.prototype.hasOwnProperty.call(keys, event.key) ? keys[event.key] : null;
    if (action && action()) event.preventDefault();
  });
})();
