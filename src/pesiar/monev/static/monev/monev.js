/* Monev: load the dashboard's worklist, budget and agent sections after the figures. */
document.addEventListener("DOMContentLoaded", function () {
  var box = document.getElementById("more-sections");
  if (!box || !box.dataset.src) return;
  fetch(box.dataset.src, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
    .then(function (response) { return response.ok ? response.text() : ""; })
    .then(function (html) { box.innerHTML = html; box.setAttribute("data-loaded", "true"); })
    .catch(function () { box.setAttribute("data-loaded", "failed"); });
});
