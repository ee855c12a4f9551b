// Progressive enhancement of the experience form: the form works without it.
(function () {
  "use strict";
  // The page's words in the reader's language (base.html: <body data-words>, registry.platform.i18n.js_words).
  var words = JSON.parse(document.body.dataset.words || "{}");
  var form = document.getElementById("experience-form");
  if (!form) { return; }

  // "Why did you stop?" follows the stop month through data-show-if (layout.js).

  var select = document.getElementById("treatment");
  var condition = document.getElementById("condition");

  // The treatment list follows the chosen condition: its usual treatments first, then the rest.
  var usual = {};
  try { usual = JSON.parse(form.getAttribute("data-usual") || "{}"); } catch (e) { usual = {}; }
  if (select && condition) {
    var blank = select.querySelector('option[value=""]');
    var all = Array.prototype.filter.call(select.querySelectorAll("option"), function (o) { return o.value; });
    all.sort(function (a, b) { return a.textContent.localeCompare(b.textContent); });
    var regroup = function () {
      var chosen = select.value;
      var first = usual[condition.value] || [];
      var name = condition.selectedIndex > 0 ? condition.options[condition.selectedIndex].textContent : "";
      select.textContent = "";
      if (blank) { select.appendChild(blank); }
      if (first.length) {
        var top = document.createElement("optgroup");
        top.label = words.usual_for.replace("%(name)s", name);
        var rest = document.createElement("optgroup");
        rest.label = words.all_other_treatments;
        all.forEach(function (o) { (first.indexOf(o.value) >= 0 ? top : rest).appendChild(o); });
        select.appendChild(top);
        select.appendChild(rest);
      } else {
        all.forEach(function (o) { select.appendChild(o); });
      }
      select.value = chosen;
    };
    condition.addEventListener("change", regroup);
    regroup();
  }

  // Type-ahead: brand names and misspellings find the generic treatment in the list.
  var box = document.getElementById("treatment-search-box");
  var input = document.getElementById("treatment-search");
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
            status.textContent = words.selected.replace("%(name)s", hit.name + (hit.matched.toLowerCase() !== hit.name.toLowerCase() ? " (" + hit.matched + ")" : ""));
          } else if (body.treatments && body.treatments.length) {
            status.textContent = words.not_in_registry.replace("%(name)s", body.treatments[0].name);
          } else {
            status.textContent = words.no_treatment_found.replace("%(query)s", q);
          }
        })
        .catch(function () { status.textContent = ""; });
    }, 250);
  });
})();
