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
        hint.textContent = "More columns: swipe the table sideways \u2192";
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
