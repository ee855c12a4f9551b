// Progressive enhancement of the experience form: the form works without it.
(function () {
  "use strict";
  var form = document.getElementById("experience-form");
  if (!form) { return; }

  // Show "why did you stop?" only once a stop month is given.
  var stopped = document.getElementById("stopped");
  var reasons = document.getElementById("stop-reasons");
  function toggleReasons() { reasons.hidden = !stopped.value; }
  if (stopped && reasons) { stopped.addEventListener("input", toggleReasons); toggleReasons(); }

  // Type-ahead: brand names and misspellings find the generic treatment in the list.
  var box = document.getElementById("treatment-search-box");
  var input = document.getElementById("treatment-search");
  var select = document.getElementById("treatment");
  var status = document.getElementById("treatment-search-status");
  if (!box || !input || !select) { return; }
  box.hidden = false;
  var timer = null;
  input.addEventListener("input", function () {
    clearTimeout(timer);
    var q = input.value.trim();
    if (q.length < 3) { status.textContent = ""; return; }
    timer = setTimeout(function () {
      fetch(input.dataset.api + "?q=" + encodeURIComponent(q), { headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : { treatments: [] }; })
        .then(function (body) {
          var hit = (body.treatments || []).find(function (t) { return t.in_catalog; });
          if (hit) {
            select.value = hit.slug;
            status.textContent = "Selected " + hit.name + (hit.matched.toLowerCase() !== hit.name.toLowerCase() ? " (" + hit.matched + ")" : "") + ".";
          } else if (body.treatments && body.treatments.length) {
            status.textContent = body.treatments[0].name + " is not in the registry yet: add it with the link below.";
          } else {
            status.textContent = "No treatment found for \u201c" + q + "\u201d.";
          }
        })
        .catch(function () { status.textContent = ""; });
    }, 250);
  });
})();
