// The matrix's two filters, shared by report.html and matrix.html (each page inlines this file, so it
// stays self-contained): rows carrying `attribute` only, problem rows only, and the count shown.
// A link may preset them: page.html#<only>, page.html#problems (or both).
function rowFilter(only, attribute, noun) {
  var table = document.getElementById("matrix");
  var first = document.getElementById("only-" + only);
  var problems = document.getElementById("only-problems");
  var count = document.getElementById("matrix-count");
  function apply() {
    var rows = table.tBodies[0].rows, shown = 0;
    for (var i = 0; i < rows.length; i++) {
      var row = rows[i];
      var hide = (first.checked && row.getAttribute(attribute) !== "true") ||
                 (problems.checked && row.getAttribute("data-problem") !== "true");
      row.hidden = hide;
      if (!hide) { shown++; }
    }
    count.textContent = shown + " of " + rows.length + " " + noun + " shown";
  }
  first.checked = first.checked || window.location.hash.indexOf(only) >= 0;
  problems.checked = problems.checked || window.location.hash.indexOf("problems") >= 0;
  first.addEventListener("change", apply);
  problems.addEventListener("change", apply);
  apply();
  table.setAttribute("data-ready", "true");
}
