// The rule page's "try it" panel (exceptions/admin/rule_try.py): the whole form, as edited,
// is posted with the sample or ticket to try it on; the answer (which rules fire, and what
// all of them together leave) is shown under the panel. Nothing is saved.
(function () {
  "use strict";

  function init() {
    const panel = document.querySelector(".rule-try");
    if (!panel) return;
    const form = panel.closest("form");
    const result = panel.querySelector(".rule-try-result");
    panel.querySelector(".rule-try-run").addEventListener("click", () => {
      const data = new FormData(form);
      data.set("try-rule", panel.dataset.rule || "");
      result.textContent = "…";
      fetch(panel.dataset.url, { method: "POST", credentials: "same-origin", body: data })
        .then((response) => response.text())
        .then((html) => {
          result.innerHTML = html;
        })
        .catch(() => {
          result.textContent = "";
        });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
