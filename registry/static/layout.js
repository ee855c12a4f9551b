// Says "swipe sideways" above each table that is wider than its box (and only those), again
// when the window changes size. The table and its region label work without this.
(function () {
  "use strict";
  function mark() {
    document.querySelectorAll(".table-scroll").forEach(function (box) {
      var hint = box.previousElementSibling;
      var hasHint = hint && hint.classList.contains("scroll-hint");
      var scrolls = box.scrollWidth > box.clientWidth + 1;
      if (scrolls && !hasHint) {
        hint = document.createElement("p");
        hint.className = "scroll-hint";
        hint.setAttribute("aria-hidden", "true");  // the region's label already says it scrolls
        hint.textContent = JSON.parse(document.body.dataset.words || "{}").swipe_sideways;
        box.parentNode.insertBefore(hint, box);
      } else if (!scrolls && hasHint) {
        hint.remove();
      }
    });
  }
  var timer = null;
  window.addEventListener("resize", function () { clearTimeout(timer); timer = setTimeout(mark, 150); });
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", mark); } else { mark(); }
})();

// A part of a form that applies only after an answer (data-show-if="name", any answer, or "name:value")
// is hidden until then - but never while it holds an answer or an error, so nothing typed is out of
// sight (the server asks about a conflicting answer). Without scripts every part shows.
(function () {
  "use strict";
  function holdsAnswer(box) {
    if (box.querySelector(".has-error")) { return true; }
    return Array.prototype.some.call(box.querySelectorAll("input, select, textarea"), function (el) {
      return el.type === "checkbox" || el.type === "radio" ? el.checked : el.value.trim() !== "";
    });
  }
  document.querySelectorAll("[data-show-if]").forEach(function (box) {
    var form = box.closest("form");
    var rule = box.getAttribute("data-show-if").split(":");
    if (!form) { return; }
    function update() {
      var field = form.elements.namedItem(rule[0]);  // a radio group gives its checked value
      var value = field ? String(field.value || "").trim() : "";
      box.hidden = !((rule.length > 1 ? value === rule[1] : value !== "") || holdsAnswer(box));
    }
    form.addEventListener("input", update);
    form.addEventListener("change", update);
    update();
  });
})();

// Following a link of the error summary brings the field's label (a group's question) into view with
// the field, not the input alone at the top edge; the input still gets the focus.
document.addEventListener("click", function (event) {
  "use strict";
  var link = event.target.closest && event.target.closest(".form-errors a[href^='#']");
  var input = link && document.getElementById(decodeURIComponent(link.hash.slice(1)));
  var field = input && input.closest("fieldset.choices, .field");
  if (!field) { return; }
  event.preventDefault();
  field.scrollIntoView({ block: "start" });
  input.focus({ preventScroll: true });
});
