// Out-of-spec values turn red as they are typed: the limits are on each input
// (data-lower, data-upper); the server decides when the results are recorded.
(function () {
  "use strict";
  function check(input) {
    var raw = input.value.trim().replace(",", ".");
    var state = document.getElementById(input.id + "-state");
    input.classList.remove("is-out", "is-in");
    if (state) state.textContent = "";
    if (raw === "" || isNaN(Number(raw))) return;
    var value = Number(raw);
    var lower = input.dataset.lower === undefined ? -Infinity : Number(input.dataset.lower);
    var upper = input.dataset.upper === undefined ? Infinity : Number(input.dataset.upper);
    var out = value < lower || value > upper;
    input.classList.add(out ? "is-out" : "is-in");
    input.setAttribute("aria-invalid", out ? "true" : "false");
    if (state) state.textContent = out ? state.dataset.out || "Out of spec" : state.dataset.in || "In spec";
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("input.measure").forEach(function (input) {
      input.addEventListener("input", function () { check(input); });
      check(input);
    });
  });
})();
